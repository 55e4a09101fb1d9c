"""Deduplication stages (exact, CCNet line dedup, MinHash): see issue 5."""
