"""Evaluations: extraction, language, toxicity, quality classifier, perplexity, the language pre-pass, dedup
quality and parity with datatrove (`.venv/bin/python -m bench.quality.<name> --help`)."""
