"""CommonCrawl WARC files to LLM pretraining data on Ray (see README.md and DESIGN.md)."""
