"""`python -m pipeline report OUT --compare OTHER`: what differs between two runs, as plain text on stdout
(compare.html shows the same runs as charts): per stage the documents in and out and the drops side by
side with their difference, kept documents, text and tokens, the drop reasons only one run has, and the
config values that differ. Read from the two report.json files only, so it is as cheap as the report.
"""

from __future__ import annotations

import json

from core import storage


def compare_text(out: str, other: str) -> str:
    """The summary for two output folders (A = OUT, B = OTHER)."""
    reports = []
    for folder in (out, other):
        fs, _ = storage.filesystem(folder)
        reports.append(storage.read_json(fs, storage.join(folder, "report.json")))
    return summary(reports[0], reports[1], (out, other))


def summary(a: dict, b: dict, names: tuple[str, str]) -> str:
    lines = [f"A: {names[0]}", f"B: {names[1]}", "diff: B - A", ""]
    lines += _table(
        ["stage", "docs in A", "B", "diff", "docs out A", "B", "diff", "dropped A", "B", "diff"], _stages(a, b)
    )
    lines += [""] + _table(["total", "A", "B", "diff"], _totals(a["totals"], b["totals"]))
    lines += _only_in_one(a["totals"]["dropped"], b["totals"]["dropped"])
    lines += _config_differences(a["stages"], b["stages"])
    return "\n".join(lines) + "\n"


def _stages(a: dict, b: dict) -> list[list[str]]:
    """One row per stage of either run (A's order, then stages only B has); '-' where a run lacks it."""
    by_name = [{s["name"]: s for s in r["stages"]} for r in (a, b)]
    names = list(dict.fromkeys([s["name"] for s in a["stages"]] + [s["name"] for s in b["stages"]]))
    counts = {
        "docs_in": lambda s: s["docs_in"],
        "docs_out": lambda s: s["docs_out"],
        "dropped": lambda s: sum(s["dropped"].values()),
    }
    rows = []
    for name in names:
        sa, sb = by_name[0].get(name), by_name[1].get(name)
        row = [name]
        for count in counts.values():
            row += _side_by_side(count(sa) if sa else None, count(sb) if sb else None)
        rows.append(row)
    return rows


def _totals(a: dict, b: dict) -> list[list[str]]:
    rows = [
        ("records read", "records_read"),
        ("kept documents", "kept"),
        ("kept text bytes", "kept_bytes"),
        ("tokens", "tokens"),
        ("files", "files"),
        ("files unreadable", "files_unreadable"),
        ("files failed", "files_failed"),
    ]
    table = [[label, *_side_by_side(a.get(key), b.get(key))] for label, key in rows]
    errors = [sum(t["errors"].values()) for t in (a, b)]
    return table + [["errors", *_side_by_side(*errors)]]


def _side_by_side(a: int | None, b: int | None) -> list[str]:
    """A, B and B - A (with its share of A): '-' for a count a run does not have."""
    if a is None or b is None:
        return [_n(a), _n(b), "-"]
    share = f" ({(b - a) / a:+.1%})" if a and b != a else ""
    return [_n(a), _n(b), f"{b - a:+,}{share}"]


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _only_in_one(a: dict[str, int], b: dict[str, int]) -> list[str]:
    """Drop reasons that only one run has: a filter or rule added, removed or renamed, or one that fired in
    only one of them."""
    lines = []
    for label, mine, theirs in (("A", a, b), ("B", b, a)):
        only = {r: n for r, n in mine.items() if r not in theirs}
        lines += ["", f"drop reasons only in {label}: {'none' if not only else ''}".rstrip()]
        lines += [f"  {r}: {n:,}" for r, n in sorted(only.items())]
    return lines


def _config_differences(a: list[dict], b: list[dict]) -> list[str]:
    """Config values that differ, per stage and key (a stage only one run has is named once)."""
    configs = [{s["name"]: s.get("config", {}) for s in stages} for stages in (a, b)]
    lines = []
    for name in dict.fromkeys([*configs[0], *configs[1]]):
        if name not in configs[0] or name not in configs[1]:
            lines.append(f"  {name}: only in {'A' if name in configs[0] else 'B'}")
            continue
        ca, cb = configs[0][name], configs[1][name]
        for key in sorted(ca.keys() | cb.keys()):
            if ca.get(key) != cb.get(key):
                lines.append(f"  {name}.{key}: A {json.dumps(ca.get(key))}, B {json.dumps(cb.get(key))}")
    return ["", f"config differences: {'none' if not lines else ''}".rstrip(), *lines]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Fixed-width columns: the first left-aligned, the counts right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        for row in [header, *rows]
    ]
