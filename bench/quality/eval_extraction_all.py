"""Extraction quality and CPU cost of every `extract.method` on every referenced page of ../shared/data/html_eval.

    .venv/bin/python -m bench.quality.eval_extraction_all    # ~10 CPU-min at --repeats 3

Results: bench/out/eval_extraction_all.json.

Pages: bench/quality/html_eval_pages.py (1,377 pages of four sources, each with a page kind and how it was classified).
Rows: our `extract` stage built from the registry with each method (the guards of the stage apply to all: payload
and tag caps, the CPU-time net), plus two references: trafilatura with favor_precision off (trafilatura's defaults
but comments, which FineWeb and we leave out) and resiliparse exactly as DCLM calls it (comment sections kept).

Metrics, per page, then the mean over pages:
  full-text references (scrapinghub, czech, readability): bag of words exactly as quality/eval_extraction.py defines it
    (whitespace tokens, lowercased, Unicode punctuation removed; P = overlap / predicted tokens, R = overlap / gold
    tokens, F1 = 2PR/(P+R); an empty output scores 0).
  snippets (trafilatura_eval): both texts tokenized the same way; a snippet is found when its token sequence occurs
    contiguously in the output's. P = found `with` / (found `with` + found `without`), R = found `with` / `with`;
    also micro over all snippets, as trafilatura's own evaluation sums them.
  empty: share of pages with content (non-empty reference; every snippet page) whose output is empty or dropped.
  CPU-ms: CPU time (time.process_time, this process only) of one page, median of --repeats runs, the methods
    interleaved page by page so that load weighs on all alike; mean over pages. Outputs must be identical across
    repeats (checked: every method is deterministic).
  via trafilatura: share of pages whose text came from trafilatura (the cascade's routing).
A second table times the same methods on the HTML responses of ../shared/data/warc (158 crawl pages, no reference).
BENCHMARKS.md's three tables are rendered from the JSON by table_full_text, table_snippets and table_crawl_cost
(`python -m bench.tables`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections import defaultdict

from bench.common import OUT, SHARED, markdown_table, shared
from bench.quality.eval_extraction import _f1, bow_counts, bow_tokens
from bench.quality.html_eval_pages import NOT_ARTICLE, all_pages

METHODS = {  # name: ExtractConfig overrides, or "dclm" for DCLM's own call
    "trafilatura (FineWeb)": {"method": "trafilatura"},
    "trafilatura, favor_precision off": {"method": "trafilatura", "favor_precision": False},
    "resiliparse": {"method": "resiliparse"},
    "resiliparse, DCLM's call": "dclm",
    "cascade": {"method": "cascade"},
    "cascade, favor_precision off": {"method": "cascade", "favor_precision": False},
}


# ---------------------------------------------------------------- extractors


def build(spec):
    """A page function: body -> (text, via trafilatura?), through our stage (its guards) or DCLM's call."""
    from core.registry import REGISTRY
    from extractors.main_text import ExtractConfig, decode_html

    if spec == "dclm":
        from resiliparse.extract.html2text import extract_plain_text
        from resiliparse.parse.html import HTMLTree

        def dclm(body: bytes):  # baselines' resiliparse_extraction: main_content, alt_texts off, formatting kept
            tree = HTMLTree.parse(decode_html(body, None))
            return extract_plain_text(tree, main_content=True, alt_texts=False, preserve_formatting=True), False

        return dclm
    stage = REGISTRY.get("extract").build(ExtractConfig(**spec))

    def ours(body: bytes):
        text, _, via = stage.extract_page(body, None)
        return text or "", via == "trafilatura"

    return ours


def run(pages: list[dict], repeats: int, names: list[str]) -> dict[str, list[tuple[str, bool, float]]]:
    """Per method, per page: (text, via trafilatura, median CPU-s)."""
    fns = {name: build(METHODS[name]) for name in names}
    for fn in fns.values():  # warm up: imports, lazy tables
        fn(pages[0]["html"])
    texts: dict[str, list] = {n: [None] * len(pages) for n in names}
    cpu: dict[str, list[list[float]]] = {n: [[] for _ in pages] for n in names}
    for r in range(repeats):
        for i, page in enumerate(pages):
            for name, fn in fns.items():
                started = time.process_time()
                out = fn(page["html"])
                cpu[name][i].append(time.process_time() - started)
                if r == 0:
                    texts[name][i] = out
                elif out != texts[name][i]:
                    raise AssertionError(f"{name} is not deterministic on {page['id']}")
        print(f"  repeat {r + 1}/{repeats} done ({time.strftime('%H:%M:%S')}, load {os.getloadavg()[0]:.1f})")
    return {n: [(t, v, statistics.median(c)) for (t, v), c in zip(texts[n], cpu[n])] for n in names}


# ---------------------------------------------------------------- metrics


def _seq(text: str) -> str:
    return " " + " ".join(bow_tokens(text)) + " "


def score(page: dict, text: str) -> dict:
    """P, R, F1 of one page, whether it came out empty, and snippet counts for snippet pages."""
    empty = not bow_tokens(text)
    if page["gold"] is not None:
        overlap, predicted, gold = bow_counts(text, page["gold"])
        p, r = (overlap / predicted if predicted else 0.0), (overlap / gold if gold else 0.0)
        return {"P": p, "R": r, "F1": _f1(p, r), "empty": empty, "content": gold > 0}
    out = _seq(text)
    found = sum(_seq(s) in out for s in page["with_"] if bow_tokens(s))
    leaked = sum(_seq(s) in out for s in page["without"] if bow_tokens(s))
    wanted = sum(1 for s in page["with_"] if bow_tokens(s))
    p, r = (found / (found + leaked) if found + leaked else 0.0), (found / wanted if wanted else 0.0)
    return {"P": p, "R": r, "F1": _f1(p, r), "empty": empty, "content": True, "snip": (found, leaked, wanted)}


def summarize(rows: list[dict]) -> dict:
    content = [r for r in rows if r["content"]]
    out = {
        "pages": len(rows),
        **{k: statistics.mean(r[k] for r in rows) for k in ("P", "R", "F1")},
        "empty_with_content": sum(r["empty"] for r in content) / len(content) if content else 0.0,
        "cpu_ms": 1000 * statistics.mean(r["cpu_s"] for r in rows),
        "via_trafilatura": statistics.mean(r["via"] for r in rows),
    }
    if all("snip" in r for r in rows):
        found, leaked, wanted = (sum(r["snip"][j] for r in rows) for j in range(3))
        p, r = found / (found + leaked) if found + leaked else 0.0, found / wanted if wanted else 0.0
        out.update(micro_P=p, micro_R=r, micro_F1=_f1(p, r))
    return out


def groups(pages: list[dict], scored: dict[str, list[dict]]) -> dict[str, dict[str, dict]]:
    """{group: {method: summary}}: per source, then per page kind within each metric family."""
    keys: dict[str, list[int]] = defaultdict(list)
    for i, page in enumerate(pages):
        family = "snippets" if page["gold"] is None else "full text"
        keys[f"source: {page['source']}"].append(i)
        keys[f"kind ({family}): {page['kind']}"].append(i)
        if page["kind"] != "synthetic":
            side = "not article" if page["kind"] in NOT_ARTICLE else "article"
            keys[f"kind ({family}): ALL {side}"].append(i)
    return {g: {m: summarize([rows[i] for i in idx]) for m, rows in scored.items()} for g, idx in sorted(keys.items())}


# ---------------------------------------------------------------- crawl pages (cost only)


def crawl_pages() -> list[dict]:
    from readers.warc import ReadConfig, UnsupportedInput, WarcReader

    pages = []
    for path in sorted((SHARED / "warc").rglob("*")):
        if path.is_file() and path.name.endswith((".warc", ".warc.gz")):
            try:
                rows = list(WarcReader(ReadConfig())(str(path), 0))
            except UnsupportedInput:
                continue
            pages += [{"id": r["url"], "html": r["html"]} for r in rows if r["html"] and r["drop_reason"] is None]
    return pages


# ---------------------------------------------------------------- report


def table(
    result: dict[str, dict[str, dict]], metrics: tuple[str, ...], groups: tuple = (), methods: tuple = ()
) -> str:
    """One row per group and method (all of them, or those named, in that order)."""
    header = ["group", "method", "pages", *(m.replace("_", " ") for m in metrics)]
    rows = []
    for group in groups or result:
        for name in methods or result[group]:
            s = result[group][name]
            cells = [group, name, s["pages"], *(f"{s[k]:.3f}" for k in metrics)]
            cells += [
                f"{100 * s['empty_with_content']:.1f}%",
                f"{s['cpu_ms']:.1f}",
                f"{100 * s['via_trafilatura']:.0f}%",
            ]
            rows.append(cells)
    return markdown_table([*header, "empty", "CPU-ms/page", "via trafilatura"], rows)


# BENCHMARKS.md's tables (`python -m bench.tables`, from bench/out/eval_extraction_all.json): its groups and
# methods, in its order
FULL_TEXT, SNIPPETS = ("P", "R", "F1"), ("P", "R", "F1", "micro_P", "micro_R", "micro_F1")
DOC_METHODS = tuple(m for m in METHODS if m != "cascade, favor_precision off")
DOC_FULL_TEXT = ("source: scrapinghub", "source: readability", "source: czech")
DOC_FULL_TEXT += ("kind (full text): ALL article", "kind (full text): ALL not article")
DOC_SNIPPETS = ("source: trafilatura_eval", "kind (snippets): ALL article", "kind (snippets): ALL not article")
DOC_SNIPPETS += ("kind (snippets): forum",)


def table_full_text(results: dict) -> str:
    return table(results["groups"], FULL_TEXT, DOC_FULL_TEXT, DOC_METHODS)


def table_snippets(results: dict) -> str:
    return table(results["groups"], SNIPPETS, DOC_SNIPPETS, DOC_METHODS)


def table_crawl_cost(results: dict) -> str:
    return table(results["crawl"], (), (), DOC_METHODS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per page and method (median)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS), metavar="NAME")
    parser.add_argument("--limit", type=int, help="every n-th page only, for a quick look")
    args = parser.parse_args()
    shared("html_eval")
    pages = all_pages()[:: args.limit or 1]
    print(f"{len(pages)} pages, {len(args.methods)} methods, {args.repeats} repeats; load {os.getloadavg()}")
    out = run(pages, args.repeats, args.methods)
    scored = {
        n: [{**score(p, t), "cpu_s": c, "via": v, "id": p["id"]} for p, (t, v, c) in zip(pages, out[n])] for n in out
    }
    result = groups(pages, scored)
    crawl = crawl_pages()
    print(f"{len(crawl)} crawl pages (cost only); load {os.getloadavg()}")
    crawl_out = run(crawl, args.repeats, args.methods)
    crawl_result = {
        "crawl pages (../shared/data/warc)": {
            n: summarize(
                [{"P": 0, "R": 0, "F1": 0, "empty": not t, "content": True, "cpu_s": c, "via": v} for t, v, c in o]
            )
            for n, o in crawl_out.items()
        }
    }
    full = {g: m for g, m in result.items() if "snippets" not in g and "trafilatura_eval" not in g}
    snippets = {g: m for g, m in result.items() if "snippets" in g or "trafilatura_eval" in g}
    print("\n### Full-text references (bag of words)\n\n" + table(full, FULL_TEXT))
    print("\n### Snippet references (trafilatura_eval)\n\n" + table(snippets, SNIPPETS))
    print("\n### Cost on crawl pages (no reference; empty: any empty output or drop)\n\n" + table(crawl_result, ()))
    print(f"\nload average at the end: {os.getloadavg()}")
    path = OUT / "eval_extraction_all.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    per_page = {
        n: [{k: r[k] for k in ("id", "P", "R", "F1", "empty", "cpu_s", "via")} for r in rows]
        for n, rows in scored.items()
    }
    path.write_text(json.dumps({"groups": result, "crawl": crawl_result, "pages": per_page}, indent=1))
    print(f"full results: {path}")


if __name__ == "__main__":
    main()
