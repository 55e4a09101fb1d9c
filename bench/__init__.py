"""Benchmarks and evaluations, run as modules from the repository root: `.venv/bin/python -m bench.perf.scale`.

perf/      speed, cost, scale, memory and fault trials
quality/   evaluations: extraction, language, classifiers, perplexity, dedup quality, parity with peers
common.py  paths (the shared data, bench/out), the peer venvs, Markdown tables; shared builders beside it
tables.py  regenerates BENCHMARKS.md's marked tables from the JSON results under bench/out/
"""
