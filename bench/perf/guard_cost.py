"""What the per-record bounds cost on real pages (issue 22): the parse guards, the record guard and the watchdog.

    .venv/bin/python -m bench.perf.guard_cost [--pages 600] [--rounds 3] [--out bench/out/guard_cost.json]

Pages: the real HTML pages of ../shared/data (html_eval and the WARCs, as bench/perf/extract_cost.py reads them).
Per page, in CPU time of this process, alternating the variants within each round so load hits them alike:
- `count_tags`: the start-tag count, the only guard before issue 22;
- `ParseGuards`: every guard now (tags, attributes of long tags, unclosed formatting elements);
- `extract (bare)`: `Extractor.extract_page` (the default cascade) called directly;
- `extract stage, guarded`: the extract stage over batches of 256 pages with a RecordGuard whose RecordWatch
  has a live watchdog process (what a file task runs), against the same stage with no guard in the same round.
The figure that matters is the last ratio: what a page costs with every bound on, against without.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import pyarrow as pa

from bench.common import OUT, markdown_table, shared
from bench.perf.extract_cost import real_pages


def _cpu_ms_per_page(fn, items) -> float:
    started = time.process_time()
    for item in items:
        fn(item)
    return 1000 * (time.process_time() - started) / len(items)


def _batches(pages: list[dict], size: int = 256) -> list[pa.Table]:
    from core.batch import READ_SCHEMA

    rows = [
        dict.fromkeys(READ_SCHEMA.names) | {"doc_id": i, "html": p["body"], "charset": p["charset"], "url": p["id"]}
        for i, p in enumerate(pages)
    ]
    return [pa.Table.from_pylist(rows[k : k + size], schema=READ_SCHEMA) for k in range(0, len(rows), size)]


def measure(pages: list[dict], rounds: int) -> dict:
    from core.html import ParseGuards, count_tags, decode_html
    from core.record_guard import RecordGuard, hard_cpu_limit_s
    from core.watchdog import RecordWatch
    from extractors.main_text import ExtractConfig, Extractor

    htmls = [decode_html(p["body"], p["charset"]) for p in pages]
    extractor, guards = Extractor(ExtractConfig()), ParseGuards()
    batches = _batches(pages)
    watch = RecordWatch("bench", ["extract"], str(OUT / "guard_cost_quarantine.json"), hard_cpu_limit_s(20), 8000)
    guard = RecordGuard(20.0, watch, ("extract",))
    results: dict[str, list[float]] = {}
    try:
        for _ in range(rounds):
            variants = {
                "count_tags": lambda: _cpu_ms_per_page(count_tags, htmls),
                "ParseGuards": lambda: _cpu_ms_per_page(guards.problem, htmls),
                "extract (bare)": lambda: _cpu_ms_per_page(
                    lambda p: extractor.extract_page(p["body"], p["charset"]), pages
                ),
                "extract stage, no guard": lambda: _stage_ms(extractor, batches, None, len(pages)),
                "extract stage, guarded": lambda: _stage_ms(extractor, batches, guard, len(pages)),
            }
            for name, run in variants.items():
                results.setdefault(name, []).append(run())
    finally:
        watch.close()
    medians = {name: statistics.median(values) for name, values in results.items()}
    medians["guarded / unguarded"] = medians["extract stage, guarded"] / medians["extract stage, no guard"]
    return {"pages": len(pages), "rounds": rounds, "cpu_ms_per_page": medians, "all_rounds": results}


def _stage_ms(extractor, batches: list[pa.Table], guard, pages: int) -> float:
    from core.record_guard import RecordGuard

    started = time.process_time()
    for batch in batches:
        extractor(batch, guard or RecordGuard())
        if guard is not None:
            guard.end_batch()
    return 1000 * (time.process_time() - started) / pages


def render(result: dict) -> str:
    m = result["cpu_ms_per_page"]
    rows = [(name, f"{value:.3f}") for name, value in m.items() if name != "guarded / unguarded"]
    rows.append(("guarded / unguarded (extract stage)", f"{m['guarded / unguarded']:.3f}x"))
    return markdown_table(["CPU ms a page (median of rounds)", f"{result['pages']} real pages"], rows, "lr")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=str(OUT / "guard_cost.json"))
    args = parser.parse_args()
    shared("html_eval")
    result = measure(real_pages(args.pages), args.rounds)
    OUT.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(render(result))


if __name__ == "__main__":
    main()
