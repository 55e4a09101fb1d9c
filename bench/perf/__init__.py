"""Speed, cost, scale, memory and fault benchmarks (`.venv/bin/python -m bench.perf.<name> --help`)."""
