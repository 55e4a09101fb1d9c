"""datatrove's own per-step stats (its stats.json, or each step's `stats.to_dict()`) as seconds and counts.

Shared by the two datatrove sides, perf/datatrove_side.py and perf/e2e_datatrove_side.py, which import it as a
sibling module: they run by path with the python of a datatrove venv, where `bench` is not importable (nor needed).
Standard library only.
"""

from __future__ import annotations


def summarize(steps: list[dict]) -> dict:
    """Per-step document counts and seconds from datatrove's own stats."""
    out = {}
    for step in steps:
        stats = step.get("stats", {})
        counts = {k: (v["total"] if isinstance(v, dict) else v) for k, v in stats.items()}
        out[step["name"]] = {"seconds": step.get("time_stats", {}).get("total", 0.0), "counts": counts}
    return out
