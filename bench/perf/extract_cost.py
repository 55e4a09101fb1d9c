"""What predicts trafilatura's CPU time? Cheap page features vs measured extraction cost (issue 12, item 3).

    .venv/bin/python -m bench.perf.extract_cost --jobs 2        # every real page + the adversarial pages
    .venv/bin/python -m bench.perf.extract_cost --limit 100     # a quick look (every k-th page)
    .venv/bin/python -m bench.perf.extract_cost --from-json bench/out/extract_cost.json --guards tags=5000
                                                                # no measuring: another guard on a saved run
    PYTHONPATH=/path/to/resiliparse .venv/bin/python -m bench.perf.extract_cost   # adds lexbor's element count

Why: the `extract` stage's only guard is a CPU-time limit (1 s), and a page near it is kept in one run and
dropped in another (issue 12: a 667 KB page took 0.82, 0.94 and 1.10 CPU-s). The output must not depend on
the machine, so drops should be decided by deterministic guards measured before extraction, with a time
limit kept only as a safety net far above any page that passes them. This measures which guard can do that.

Pages: every real HTML page in ../shared/data/html_eval (*.html.gz; Readability's `expected.html` files are
its output, not pages, and are left out) and every HTML response that `readers.warc.WarcReader` keeps in
../shared/data/warc (default ReadConfig; the two legacy ARC files are refused by the reader and so are not
pipeline input). Each is decoded with `extractors.main_text.decode_html` as the stage does.

Measured per page, CPU time (time.process_time) in a child process, median of --repeats (3) runs; the runs
of one page are far apart (round r goes over the whole chunk of pages before round r+1), so a burst of load
from another process on the machine touches one run, not all three. Each child first warms trafilatura up
(lazy imports, caches), as a pipeline worker does once.
  trafilatura   `trafilatura.extract` called exactly as extractors/main_text.py calls it (ExtractConfig defaults:
                favor_precision, comments off, tables on, deduplicate=False), under a --safety-s CPU limit
                only so that a runaway page cannot stall the benchmark.
  features      bytes (payload), chars (decoded), lt (str.count('<')), tags (regex <[A-Za-z] count),
                attr_chars (regex: quoted attribute values), and from trafilatura's own parse
                (`trafilatura.utils.load_html`, the lxml HTMLParser it uses): elements, depth (max nesting),
                text_nodes (non-blank text and tail strings), text_chars, depth_sum (sum of element depths =
                sum of subtree sizes), text_depth (sum over text nodes of length x depth). xelements/xtext are
                the same counts as one XPath `count()` each (in C). With resiliparse importable: rp_elements
                from lexbor's parse (no depth cap, unlike libxml2).
  costs         CPU time of each feature pass, median of --repeats, set against trafilatura's.
  reuse check   extract(load_html(html)) == extract(html): if the features are taken from the tree that
                trafilatura is then handed, the parse is shared and the guard costs only the count.

Adversarial pages (built here), one per child process with a memory cap and the same limit (one run only
once a run passed 5 s): deep nesting (10k/100k divs, 300 nested tables), 200k tiny elements, 200k table
cells, one 4.9 MB text node, 4 MB of class attributes, a 4.9 MB script, long article-like pages; and for
each tag count in --at-guard the worst shapes we know with just under that many tags, those that are about
bytes filled to just under --at-guard-bytes: 40 chains of 250 nested divs (libxml2's depth cap is 256),
text at every level of such chains, flat <p>, table cells, link lists, <br> text lines, long paragraphs,
long class / id attributes, a big script.

Reported (Markdown on stdout, everything in bench/out/extract_cost.json): fit of CPU time against each
feature (Pearson r, Spearman rho, least-squares slope, cost per unit), the slowest pages, for each feature
the largest threshold that keeps every passing page under a CPU target and how many pages it drops, the
best pair of guards, candidate guard sets (real pages dropped, slowest real and adversarial page passing),
where each feature mispredicts the adversarial pages, the feature costs, and the proposed guards (--guards)
with the pages they drop.

Run of this file's first commit (1,604 real pages, 38 adversarial, 2 busy cores, --jobs 2: 580 s wall, 440
CPU-s): tags / elements / lt predict CPU time (Pearson 0.95, ~0.06 s per 1,000 tags, worst real page 0.13 s
per 1,000); payload bytes do not (0.33). The tag count costs 0.15 ms a page (0.6% of extraction), the lxml
parse 1.7 ms (7%). Tags alone misjudge pages with few tags and megabytes of class/id attributes (1.8 s for
1,000 tags), so the payload cap bounds those. tags <= 10,000 and bytes <= 2 MB drop 5 real pages (0.31%)
and let none through that takes over 0.76 CPU-s in any run (the worst adversarial page that passes: 1.4 s);
tags <= 5,000: 12 pages (0.75%), 0.37 s, 1.1 s.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import multiprocessing as mp
import os
import platform
import re
import resource
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from bench.common import OUT, SHARED, children_cpu_s, markdown_table, shared

START_TAG = re.compile(r"<[A-Za-z]")
QUOTED_VALUE = re.compile(r"""=\s*(?:"[^"]*"|'[^']*')""")  # attribute values (and some script strings)

# feature -> (unit for per-unit costs, scale of that unit, what it is)
FEATURES = {
    "bytes": ("MB", 1e6, "payload bytes (HTTP body as read)"),
    "chars": ("M chars", 1e6, "decoded characters"),
    "lt": ("1k '<'", 1e3, "'<' characters, str.count"),
    "tags": ("1k tags", 1e3, "start tags, regex <[A-Za-z]"),
    "attr_chars": ("MB", 1e6, 'characters of quoted attribute values, regex =\\s*"..."'),
    "elements": ("1k elements", 1e3, "elements in trafilatura's lxml tree"),
    "depth": ("level", 1.0, "max nesting depth in the lxml tree"),
    "text_nodes": ("1k text nodes", 1e3, "non-blank text/tail strings in the lxml tree"),
    "text_chars": ("M chars", 1e6, "characters in those text nodes"),
    "depth_sum": ("1M", 1e6, "sum of element depths (= sum of subtree sizes)"),
    "text_depth": ("1M", 1e6, "sum over text nodes of length x depth"),
    "rp_elements": ("1k elements", 1e3, "elements in resiliparse's (lexbor) tree"),
}
COSTS = {
    "decode_s": "extractors.main_text.decode_html",
    "lt_s": "str.count('<')",
    "tags_s": "regex <[A-Za-z] count",
    "attr_s": "regex sum of quoted attribute value lengths",
    "parse_s": "trafilatura.utils.load_html (lxml parse, as trafilatura does it)",
    "xcount_s": "XPath count(//*) + count(//text()) on that tree",
    "walk_s": "Python iterwalk: depth, text nodes, depth_sum, text_depth",
    "rp_s": "resiliparse HTMLTree.parse + count of elements",
}
TARGETS = (0.1, 0.2, 0.3, 0.5)  # CPU-s: the largest a passing page may take
DEFAULT_GUARDS = "tags=10000,bytes=2000000"  # the proposal (issue 12 item 3); --guards evaluates others
CANDIDATE_GUARDS = (
    "tags=3000",
    "tags=5000",
    "tags=10000",
    "tags=20000",
    "elements=10000",
    "lt=20000",
    "text_nodes=3000",
    "depth_sum=100000",
    "bytes=1000000",
    "bytes=2000000",
    "tags=5000,bytes=2000000",
    "tags=10000,bytes=2000000",
    "tags=10000,attr_chars=500000",
)
MEMORY_CAP = 6 << 30  # bytes of address space for one adversarial child


# ---------------------------------------------------------------- pages


def real_pages(limit: int | None) -> list[dict]:
    pages = []
    html_eval = SHARED / "html_eval"
    for path in sorted(html_eval.rglob("*.html.gz")):
        if path.name == "expected.html.gz":  # Readability's expected output, not a crawled page
            continue
        rel = path.relative_to(html_eval)
        with gzip.open(path, "rb") as f:
            pages.append({"id": str(rel), "group": rel.parts[0], "body": f.read(), "charset": None})
    pages += warc_pages()
    if limit:
        step = max(1, len(pages) // limit)
        pages = pages[::step][:limit]
    return pages


def warc_pages() -> list[dict]:
    from readers.warc import ReadConfig, UnsupportedInput, WarcReader

    pages = []
    root = SHARED / "warc"
    for path in sorted(root.rglob("*")):
        if not path.is_file() or not re.search(r"\.warc(\.gz)?$", path.name):
            continue
        reader = WarcReader(ReadConfig())
        try:
            rows = list(reader(str(path), 0))
        except UnsupportedInput:
            continue
        for row in rows:
            if row["html"] is not None and row["drop_reason"] is None:
                rel = path.relative_to(root)
                pages.append(
                    {
                        "id": f"warc/{rel}@{row['source'].rsplit('@', 1)[1]} {row['url']}",
                        "group": f"warc/{rel.parts[0]}",
                        "body": row["html"],
                        "charset": row["charset"],
                    }
                )
    return pages


def _wrap(body: str) -> bytes:
    return f"<!DOCTYPE html><html><head><title>adversarial</title></head><body>{body}</body></html>".encode()


SENTENCE = "The committee met on Tuesday to discuss the budget and agreed to publish the minutes next week. "


def adversarial_pages(at_guard: tuple[int, ...] = (), max_bytes: int = 5_000_000) -> list[dict]:
    """Deterministic hostile pages, each under read.max_payload_bytes (5,000,000), plus the worst shapes at each
    tag count in `at_guard` under a payload cap of `max_bytes`."""
    cases = {
        "deep_div_10k": "<div>" * 10_000 + SENTENCE + "</div>" * 10_000,
        "deep_div_100k": "<div>" * 100_000 + SENTENCE + "</div>" * 100_000,
        "deep_div_250": "<div>" * 250 + SENTENCE * 20 + "</div>" * 250,
        "deep_chains_1k_x_200": ("<div>" * 200 + SENTENCE + "</div>" * 200) * 1_000,
        "flat_p_200k": "<p>word</p>" * 200_000,
        "flat_span_200k": "<div>" + "<span>a</span>" * 200_000 + "</div>",
        "links_li_100k": "<ul>" + "".join(f'<li><a href="/x/{i}">link {i}</a></li>' for i in range(100_000)) + "</ul>",
        "br_lines_200k": "<div>" + "line of text<br>" * 200_000 + "</div>",
        "text_node_4.9mb": "<p>" + (SENTENCE * 60_000)[:4_900_000] + "</p>",
        "text_div_4.9mb": "<div>" + (SENTENCE * 60_000)[:4_900_000] + "</div>",
        "article_p_40k": "<article>" + f"<p>{SENTENCE}</p>" * 45_000 + "</article>",
        "article_p_10k": "<article>" + f"<p>{SENTENCE}</p>" * 10_000 + "</article>",
        "table_50k_cells": "<table>"
        + "".join("<tr>" + "".join(f"<td>cell {r}.{c}</td>" for c in range(10)) + "</tr>" for r in range(5_000))
        + "</table>",
        "table_200k_cells": "<table>"
        + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in range(20)) + "</tr>" for r in range(10_000))
        + "</table>",
        "attrs_1k_x_4kb": "".join(f'<p class="{"c" * 4_000}" data-x="{i}">{SENTENCE}</p>' for i in range(1_000)),
        "attr_one_4.9mb": f'<div data-blob="{"x" * 4_900_000}">{SENTENCE}</div>',
        "script_4.9mb": "<script>" + "var a=1;" * 610_000 + "</script>" + f"<p>{SENTENCE}</p>",
        "nested_tables_300": "<table><tr><td>" * 300 + SENTENCE + "</td></tr></table>" * 300,
    }
    pages = [
        {"id": name, "group": "adversarial", "body": _wrap(body), "charset": None} for name, body in cases.items()
    ]
    for n in at_guard:
        pages += [
            {"id": f"{name}@{n}", "group": f"at_guard_{n}", "body": _wrap(body), "charset": None}
            for name, body in _at_guard_cases(n, max_bytes).items()
        ]
    return pages


def _at_guard_cases(n: int, max_bytes: int) -> dict[str, str]:
    """The worst shapes we know, each with just under `n` start tags (the wrapper has 4) and, where the shape is
    about bytes (text, attributes, script), filled up to just under `max_bytes`: what a page built to sit right
    under a tag-count guard of `n` and a payload cap of `max_bytes` costs."""
    k = n - 6

    def fill(build, per: int) -> str:  # the largest filler length that keeps the page under max_bytes
        room = max_bytes - 200 - len(build(0))
        return build(max(0, room // per))

    return {
        "deep250_chains": ("<div>" * 250 + SENTENCE + "</div>" * 250) * (k // 250),
        "deep250_text_every_level": ("<p>" + "<span>word " * 249 + "</span>" * 249 + "</p>") * (k // 250),
        "flat_p": "<p>word</p>" * k,
        "table_cells": "<table>" + ("<tr>" + "<td>cell</td>" * 10 + "</tr>") * (k // 11) + "</table>",
        "links_li_a": "<ul>" + "".join(f'<li><a href="/x/{i}">link {i}</a></li>' for i in range(k // 2)) + "</ul>",
        "br_text_nodes": "<div>" + "line of text<br>" * k + "</div>",
        "text_filled": fill(lambda m: "<article>" + f"<p>{(SENTENCE * (m // 90 + 1))[:m]}</p>" * k + "</article>", k),
        "class_attrs_filled": fill(lambda m: f'<p class="{"c" * m}">x</p>' * k, k),
        "id_attrs_filled": fill(lambda m: f'<p id="{"i" * m}">x</p>' * k, k),
        "script_filled_plus_p": fill(lambda m: f"<script>{'v' * m}</script>" + f"<p>{SENTENCE}</p>" * k, 1),
    }


# ---------------------------------------------------------------- measuring (child processes)


def _cpu(fn, *args):
    start = time.process_time()
    result = fn(*args)
    return time.process_time() - start, result


def _median_cpu(repeats: int, fn, *args):
    runs = [_cpu(fn, *args) for _ in range(repeats)]
    return statistics.median(t for t, _ in runs), runs[-1][1]


def _tree_walk(tree) -> dict:
    from lxml import etree

    elements = depth = max_depth = depth_sum = text_nodes = text_chars = text_depth = 0
    for event, el in etree.iterwalk(tree, events=("start", "end")):
        if event == "start":
            depth += 1
            elements += 1
            depth_sum += depth
            if depth > max_depth:
                max_depth = depth
            text = el.text
        else:
            depth -= 1
            text = el.tail
        if text and not text.isspace():
            text_nodes += 1
            text_chars += len(text)
            text_depth += len(text) * depth
    return {
        "elements": elements,
        "depth": max_depth,
        "text_nodes": text_nodes,
        "text_chars": text_chars,
        "depth_sum": depth_sum,
        "text_depth": text_depth,
    }


def _xpath_counts(tree) -> tuple[int, int]:
    return int(tree.xpath("count(//*)")), int(tree.xpath("count(//text()[normalize-space()])"))


def _resiliparse():
    try:
        from resiliparse.parse.html import HTMLTree
    except ImportError:
        return None
    return lambda html: len(HTMLTree.parse(html).document.query_selector_all("*"))


def _extract_fn():
    from extractors.main_text import ExtractConfig, Extractor

    extractor = Extractor(ExtractConfig(method="trafilatura"))  # its cost model is trafilatura's
    cfg = extractor.cfg

    def extract(html):
        return extractor._extract(
            html,
            favor_precision=cfg.favor_precision,
            include_comments=cfg.include_comments,
            include_tables=cfg.include_tables,
            deduplicate=False,
        )

    return extract


def _features(page: dict, repeats: int) -> tuple[str, dict]:
    from trafilatura.utils import load_html

    from extractors.main_text import decode_html

    body = page["body"]
    f: dict = {"bytes": len(body)}
    f["decode_s"], html = _median_cpu(repeats, decode_html, body, page["charset"])
    f["chars"] = len(html)
    f["lt_s"], f["lt"] = _median_cpu(repeats, html.count, "<")
    f["tags_s"], f["tags"] = _median_cpu(repeats, lambda s: len(START_TAG.findall(s)), html)
    f["attr_s"], f["attr_chars"] = _median_cpu(repeats, lambda s: sum(map(len, QUOTED_VALUE.findall(s))), html)
    f["parse_s"], tree = _median_cpu(repeats, load_html, html)
    if tree is None:
        f["parsed"] = False
        return html, f
    f["parsed"] = True
    f["xcount_s"], (f["xelements"], f["xtext"]) = _median_cpu(repeats, _xpath_counts, tree)
    f["walk_s"], walked = _median_cpu(repeats, _tree_walk, tree)
    f.update(walked)
    rp = _resiliparse()
    if rp is not None:
        f["rp_s"], f["rp_elements"] = _median_cpu(repeats, rp, html)
    return html, f


WARM_UP = (
    "<!DOCTYPE html><html lang=en><head><title>Warm-up</title></head><body><nav><a href=/>Home</a></nav>"
    "<article><h1>Warm-up</h1>" + f"<p>{SENTENCE * 3}</p>" * 12 + "<table><tr><td>a</td><td>b</td></tr></table>"
    "</article><footer>Footer</footer></body></html>"
)


def _warm_up(extract, repeats: int) -> None:
    """Lazy imports and caches inside trafilatura and its fallbacks fill on the first calls of a process; a
    pipeline worker pays that once, so it is kept out of every page's measurement."""
    _features({"body": WARM_UP.encode(), "charset": None}, repeats)
    for html in (WARM_UP, WARM_UP.replace("<p>", "<div>").replace("</p>", "</div>")):
        extract(html)


def _one_extraction(extract, html: str, safety_s: float) -> tuple[float, str, str | None]:
    from core.timelimit import TimeLimitExceeded, time_limit

    start = time.process_time()
    try:
        with time_limit(safety_s):
            text = extract(html)
    except TimeLimitExceeded:
        return time.process_time() - start, "limit", None
    except Exception as e:  # as the stage does: any trafilatura/lxml error drops the page
        return time.process_time() - start, f"error:{type(e).__name__}", None
    cpu = time.process_time() - start
    text = (text or "").strip()
    return cpu, ("ok" if text else "no_text"), text


def measure_chunk(pages: list[dict], repeats: int, safety_s: float, stop_after_s: float | None = None) -> list[dict]:
    """Features of every page, then `repeats` rounds of extraction over the whole chunk, then the reuse check."""
    from trafilatura.utils import load_html

    extract = _extract_fn()
    _warm_up(extract, repeats)
    htmls, results = [], []
    for page in pages:
        html, feats = _features(page, repeats)
        htmls.append(html)
        results.append({"id": page["id"], "group": page["group"], **feats, "runs": [], "status": []})
    digests: list[set] = [set() for _ in pages]
    texts: list[str | None] = [None] * len(pages)
    for _ in range(repeats):
        for i, html in enumerate(htmls):
            r = results[i]
            if stop_after_s is not None and r["runs"] and max(r["runs"]) > stop_after_s:
                continue  # an adversarial page already known to be slow: one run says enough
            cpu, status, texts[i] = _one_extraction(extract, html, safety_s)
            r["runs"].append(round(cpu, 6))
            r["status"].append(status)
            digests[i].add(hashlib.sha1((texts[i] or "").encode()).hexdigest())
    for i, html in enumerate(htmls):
        r = results[i]
        r["cpu"] = statistics.median(r["runs"])
        r["deterministic_text"] = len(digests[i]) == 1
        r["text_len"] = len(texts[i] or "")
        r["text_head"] = (texts[i] or "")[:160].replace("\n", " ")
        if max(r["runs"]) > (stop_after_s or safety_s) or not r["parsed"]:
            continue
        # the reuse check: hand trafilatura the tree the features were taken from (parse included here)
        start = time.process_time()
        try:
            tree = load_html(html)
            text = (extract(tree) or "").strip() or None
        except Exception:
            text = None
        r["reuse_cpu"] = round(time.process_time() - start, 6)
        r["reuse_same_text"] = text == (texts[i] or None)
    return results


def _adversarial_child(page: dict, repeats: int, safety_s: float, conn) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    try:
        conn.send(("ok", measure_chunk([page], repeats, safety_s, stop_after_s=5.0)[0]))
    except BaseException as e:  # MemoryError, RecursionError...: the finding is the failure itself
        conn.send(("failed", f"{type(e).__name__}: {e}"[:300]))
    conn.close()


def measure_adversarial(page: dict, repeats: int, safety_s: float) -> dict:
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_adversarial_child, args=(page, repeats, safety_s, child))
    proc.start()
    child.close()
    got = None
    try:
        got = parent.recv()
    except EOFError:
        pass
    proc.join()
    if got is None:
        return {
            "id": page["id"],
            "group": "adversarial",
            "bytes": len(page["body"]),
            "failed": f"exit {proc.exitcode}",
        }
    kind, value = got
    if kind == "failed":
        return {"id": page["id"], "group": "adversarial", "bytes": len(page["body"]), "failed": value}
    return value


# ---------------------------------------------------------------- analysis


def _rank(x: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(x)


def fit(rows: list[dict], feature: str) -> dict | None:
    pts = [(r[feature], r["cpu"]) for r in rows if r.get(feature) is not None]
    if len(pts) < 3:
        return None
    x, y = np.array([p[0] for p in pts], float), np.array([p[1] for p in pts], float)
    unit = FEATURES[feature][1]
    slope, intercept = np.polyfit(x / unit, y, 1)
    pred = slope * x / unit + intercept
    r2 = 1 - float(((y - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum())
    big = x >= np.median(x)  # per-unit cost over the larger half: tiny pages are all fixed overhead
    per_unit = y[big] / np.maximum(x[big] / unit, 1e-12)
    return {
        "pearson_r": float(np.corrcoef(x, y)[0, 1]),
        "spearman_rho": float(np.corrcoef(_rank(x), _rank(y))[0, 1]),
        "slope_s_per_unit": float(slope),
        "intercept_s": float(intercept),
        "r2": r2,
        "median_s_per_unit": float(np.median(per_unit)),
        "max_s_per_unit": float(per_unit.max()),
        "unit": FEATURES[feature][0],
    }


def single_guard(rows: list[dict], feature: str, target: float) -> dict:
    """The largest threshold (keep pages with feature <= it) under which no page takes more than `target`."""
    slow = [r[feature] for r in rows if r["cpu"] > target]
    if not slow:
        return {"threshold": None, "dropped": 0}
    limit = min(slow)
    below = sorted({r[feature] for r in rows if r[feature] < limit})
    threshold = below[-1] if below else None
    dropped = [r for r in rows if threshold is None or r[feature] > threshold]
    return {"threshold": threshold, "dropped": len(dropped), "first_slow_value": limit}


def pair_guard(rows: list[dict], f1: str, f2: str, target: float) -> dict:
    """Two guards (keep if f1 <= t1 and f2 <= t2) with no passing page over `target`, fewest pages dropped."""
    x1 = np.array([r[f1] for r in rows], float)
    x2 = np.array([r[f2] for r in rows], float)
    slow = np.array([r["cpu"] > target for r in rows])
    best = None
    for t1 in np.unique(np.concatenate([x1, [np.inf]])):
        caught = slow & (x1 <= t1)  # slow pages that f1 lets through must be stopped by f2
        t2 = np.inf if not caught.any() else np.max(x2[x2 < x2[caught].min()], initial=-np.inf)
        dropped = int(((x1 > t1) | (x2 > t2)).sum())
        if best is None or dropped < best["dropped"]:
            best = {"features": [f1, f2], "thresholds": [float(t1), float(t2)], "dropped": dropped}
    return best


def parse_guards(text: str) -> dict[str, float]:
    out = {}
    for part in filter(None, text.split(",")):
        name, value = part.split("=")
        out[name.strip()] = float(value)
    return out


def guard_verdict(row: dict, guards: dict[str, float]) -> list[str]:
    return [f"{k}>{v:g}" for k, v in guards.items() if row.get(k) is not None and row[k] > v]


def candidate(real: list[dict], adversarial: list[dict], guards: dict[str, float]) -> dict:
    passing = [r for r in real if not guard_verdict(r, guards)]
    adv = [a for a in adversarial if "cpu" in a and not guard_verdict(a, guards)]
    worst = max(adv, key=lambda a: a["cpu"], default=None)
    return {
        "dropped": len(real) - len(passing),
        "dropped_share": 1 - len(passing) / len(real),
        "dropped_cpu_share": 1 - sum(r["cpu"] for r in passing) / sum(r["cpu"] for r in real),
        "max_cpu_passing": max(r["cpu"] for r in passing),
        "max_run_passing": max(max(r["runs"]) for r in passing),
        "adversarial_passing": len(adv),
        "adversarial_dropped": len([a for a in adversarial if guard_verdict(a, guards)]),
        "worst_adversarial_passing": None if worst is None else {"id": worst["id"], "cpu": worst["cpu"]},
        "dropped_pages": [
            {"id": r["id"], "cpu": r["cpu"], "text_len": r["text_len"]} for r in real if guard_verdict(r, guards)
        ],
    }


def threshold_grid(rows: list[dict], feature: str) -> list[float]:
    vals = np.array([r[feature] for r in rows], float)
    grid = {float(np.quantile(vals, q)) for q in (0.9, 0.95, 0.99, 0.995, 0.999)}
    return sorted(grid)


def analyse(real: list[dict], adversarial: list[dict], guards: dict[str, float]) -> dict:
    ok = [r for r in real if r.get("parsed")]
    feats = [f for f in FEATURES if all(r.get(f) is not None for r in ok)]
    out: dict = {"n_pages": len(real), "n_parsed": len(ok), "features": feats}
    out["fits"] = {f: fit(ok, f) for f in feats}
    out["single_guards"] = {str(t): {f: single_guard(ok, f, t) for f in feats} for t in TARGETS}
    cheap = ("bytes", "lt", "tags", "attr_chars", "elements", "depth", "text_nodes", "text_chars")
    cheap = [f for f in cheap if f in feats]
    pairs = {}
    for t in TARGETS:
        cands = [pair_guard(ok, a, b, t) for i, a in enumerate(cheap) for b in cheap[i + 1 :]]
        pairs[str(t)] = sorted(cands, key=lambda c: c["dropped"])[:6]
    out["pair_guards"] = pairs
    out["grids"] = {}
    for f in feats:
        rows = []
        for th in threshold_grid(ok, f):
            passing = [r["cpu"] for r in ok if r[f] <= th]
            rows.append(
                {
                    "threshold": th,
                    "dropped": len(ok) - len(passing),
                    "max_cpu_passing": max(passing),
                    "p99_cpu_passing": float(np.quantile(passing, 0.99)),
                }
            )
        out["grids"][f] = rows
    cpu = np.array([r["cpu"] for r in real])
    out["cpu_quantiles"] = {q: float(np.quantile(cpu, float(q))) for q in ("0.5", "0.9", "0.99", "0.999", "1.0")}
    spread = np.array(  # tiny pages: a run of 2 ms vs 4 ms says nothing; the spread of pages >= 50 ms
        [max(r["runs"]) / min(r["runs"]) for r in real if len(r["runs"]) > 1 and r["cpu"] >= 0.05] or [1.0]
    )
    out["run_spread_max_over_min"] = {q: float(np.quantile(spread, float(q))) for q in ("0.5", "0.9", "0.99", "1.0")}
    out["nondeterministic_text"] = [r["id"] for r in real if not r["deterministic_text"]]
    reuse = [r for r in real if "reuse_same_text" in r]
    out["reuse"] = {
        "checked": len(reuse),
        "same_text": sum(r["reuse_same_text"] for r in reuse),
        "different": [r["id"] for r in reuse if not r["reuse_same_text"]],
    }
    costs = {}
    for c in COSTS:
        vals = [r[c] for r in real if c in r]
        if vals:
            rel = [r[c] / r["cpu"] for r in real if c in r and r["cpu"] > 0]
            costs[c] = {
                "median_s": statistics.median(vals),
                "p99_s": float(np.quantile(vals, 0.99)),
                "max_s": max(vals),
                "total_s": sum(vals),
                "median_share_of_extract": statistics.median(rel),
                "total_share_of_extract": sum(vals) / sum(r["cpu"] for r in real),
            }
    out["feature_costs"] = costs
    per_unit = {}  # an adversarial page's CPU per unit of a feature, over the worst real page's
    for a_page in adversarial:
        if "cpu" not in a_page:
            continue
        row = {}
        for f in ("bytes", "lt", "tags", "attr_chars", "elements", "text_nodes", "depth_sum"):
            real_max = (out["fits"].get(f) or {}).get("max_s_per_unit")
            if real_max and a_page.get(f):
                row[f] = a_page["cpu"] / (a_page[f] / FEATURES[f][1]) / real_max
        per_unit[a_page["id"]] = row
    out["adversarial_per_unit_vs_real_max"] = per_unit
    out["candidates"] = [candidate(real, adversarial, parse_guards(g)) | {"guards": g} for g in CANDIDATE_GUARDS]
    passing = [r for r in real if not guard_verdict(r, guards)]
    out["guards"] = {
        "guards": guards,
        "dropped": [
            {k: r.get(k) for k in ("id", "cpu", "bytes", "elements", "depth", "text_len", "text_head")}
            | {"why": guard_verdict(r, guards)}
            for r in real
            if guard_verdict(r, guards)
        ],
        "max_cpu_passing": max(r["cpu"] for r in passing),
        "max_run_passing": max(max(r["runs"]) for r in passing),
        "slowest_passing": sorted(
            ({"id": r["id"], "cpu": r["cpu"], "runs": r["runs"]} for r in passing), key=lambda d: -d["cpu"]
        )[:5],
        "adversarial": [
            {
                "id": a["id"],
                "cpu": a.get("cpu"),
                "failed": a.get("failed"),
                "why": guard_verdict(a, guards),
            }
            for a in adversarial
        ],
    }
    return out


# ---------------------------------------------------------------- report


def _fmt(v, digits=3) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if v in (float("inf"), float("-inf")):
            return "any" if v > 0 else "none"
        if v == int(v) and abs(v) >= 10:
            return f"{int(v):,}"
        return f"{v:.{digits}g}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _table(header: list[str], rows: list[list]) -> str:
    return markdown_table(header, [[_fmt(c) for c in row] for row in rows])


def report(result: dict) -> str:
    a, real, adv = result["analysis"], result["pages"], result["adversarial"]
    parts = [f"## extract cost: {a['n_pages']} real pages ({a['n_parsed']} parsed), {len(adv)} adversarial"]
    q = a["cpu_quantiles"]
    parts.append(
        f"trafilatura CPU-s per page (median of {result['config']['repeats']}): "
        f"p50 {q['0.5']:.4f}, p90 {q['0.9']:.4f}, p99 {q['0.99']:.3f}, p99.9 {q['0.999']:.3f}, max {q['1.0']:.3f}; "
        f"total {sum(r['cpu'] for r in real):.1f} s. Run-to-run spread (max/min of the runs of one page): "
        + ", ".join(f"q{k} {v:.2f}" for k, v in a["run_spread_max_over_min"].items())
    )
    parts.append("### CPU time vs each feature (real pages)")
    rows = []
    for f, s in a["fits"].items():
        if s:
            rows.append(
                [
                    f,
                    round(s["pearson_r"], 3),
                    round(s["spearman_rho"], 3),
                    round(s["r2"], 3),
                    f"{s['slope_s_per_unit']:.4g} s/{s['unit']}",
                    f"{s['median_s_per_unit']:.4g}",
                    f"{s['max_s_per_unit']:.4g}",
                ]
            )
    parts.append(
        _table(["feature", "Pearson r", "Spearman", "R2", "LSQ slope", "median s/unit*", "max s/unit*"], rows)
    )
    parts.append("*over the larger half of the pages by that feature")
    parts.append("### Slowest real pages")
    slow = sorted(real, key=lambda r: -r["cpu"])[:15]
    parts.append(
        _table(
            ["page", "CPU-s", "runs", "bytes", "tags", "elements", "depth", "text nodes", "text chars", "text out"],
            [
                [
                    r["id"][:70],
                    round(r["cpu"], 3),
                    "/".join(f"{t:.2f}" for t in r["runs"]),
                    r["bytes"],
                    r["tags"],
                    r.get("elements"),
                    r.get("depth"),
                    r.get("text_nodes"),
                    r.get("text_chars"),
                    r.get("text_len"),
                ]
                for r in slow
            ],
        )
    )
    parts.append("### One guard alone: the largest threshold with no passing page over the target, pages dropped")
    feats = list(a["fits"])
    rows = []
    for t, per in a["single_guards"].items():
        rows.append([f"<= {t} s"] + [f"{_fmt(per[f]['threshold'])} ({per[f]['dropped']})" for f in feats])
    parts.append(_table(["target"] + feats, rows))
    parts.append("### Two guards: fewest pages dropped with no passing page over the target")
    rows = []
    for t, cands in a["pair_guards"].items():
        for c in cands[:3]:
            rows.append(
                [f"<= {t} s", f"{c['features'][0]} <= {_fmt(c['thresholds'][0])}"]
                + [f"{c['features'][1]} <= {_fmt(c['thresholds'][1])}", c["dropped"]]
            )
    parts.append(_table(["target", "guard 1", "guard 2", "dropped"], rows))
    parts.append(
        "### Candidate guards: real pages dropped, slowest real page passing, and the slowest adversarial page passing"
    )
    rows = []
    for c in a["candidates"]:
        w = c["worst_adversarial_passing"]
        rows.append(
            [
                c["guards"],
                f"{c['dropped']} ({100 * c['dropped_share']:.2f}%)",
                f"{100 * c['dropped_cpu_share']:.1f}%",
                round(c["max_cpu_passing"], 3),
                round(c["max_run_passing"], 3),
                f"{c['adversarial_passing']} pass, {c['adversarial_dropped']} dropped",
                "-" if w is None else f"{w['cpu']:.2f} ({w['id']})",
            ]
        )
    parts.append(
        _table(
            [
                "guard",
                "real dropped",
                "their CPU share",
                "max CPU-s passing",
                "max run",
                "adversarial",
                "worst passing",
            ],
            rows,
        )
    )
    parts.append("### Thresholds at the p90/p95/p99/p99.5/p99.9 of each feature: max CPU-s of the pages that pass")
    rows = []
    for f in ("bytes", "tags", "elements", "depth", "text_nodes", "text_chars", "depth_sum"):
        if f in a["grids"]:
            rows.append(
                [f] + [f"{_fmt(g['threshold'])}: {g['max_cpu_passing']:.3f} ({g['dropped']})" for g in a["grids"][f]]
            )
    parts.append(_table(["feature", "p90", "p95", "p99", "p99.5", "p99.9"], rows))
    parts.append("### Cost of the feature passes (CPU-s per page), against trafilatura's")
    parts.append(
        _table(
            ["pass", "median", "p99", "max", "median share", "total share"],
            [
                [
                    f"{c}: {COSTS[c]}",
                    f"{s['median_s'] * 1e3:.3f} ms",
                    f"{s['p99_s'] * 1e3:.2f} ms",
                    f"{s['max_s'] * 1e3:.2f} ms",
                    f"{100 * s['median_share_of_extract']:.2f}%",
                    f"{100 * s['total_share_of_extract']:.2f}%",
                ]
                for c, s in a["feature_costs"].items()
            ],
        )
    )
    r = a["reuse"]
    parts.append(
        f"Reuse check: extract(load_html(html)) gave the same text as extract(html) on {r['same_text']} of "
        f"{r['checked']} pages"
        + (f"; different: {r['different'][:10]}" if r["different"] else "")
        + f". Text identical across the runs of a page: {a['n_pages'] - len(a['nondeterministic_text'])} "
        f"of {a['n_pages']}."
    )
    parts.append(
        "### Where each feature fails: an adversarial page's CPU per unit of the feature / the worst real page's "
        "(>1: a guard on that feature lets through a page costlier per unit than any real one; <<1: it drops cheap "
        "pages)"
    )
    fs = ("bytes", "lt", "tags", "attr_chars", "elements", "text_nodes", "depth_sum")
    parts.append(
        _table(
            ["page"] + list(fs),
            [
                [pid] + [f"{row[f]:.2g}" if f in row else "-" for f in fs]
                for pid, row in a["adversarial_per_unit_vs_real_max"].items()
            ],
        )
    )
    parts.append("### Adversarial pages")
    parts.append(
        _table(
            ["page", "bytes", "CPU-s", "status", "tags", "elements", "depth", "text nodes", "rp elements", "text out"],
            [
                [
                    x["id"],
                    x["bytes"],
                    round(x["cpu"], 3) if "cpu" in x else x.get("failed"),
                    "/".join(sorted(set(x.get("status", [])))),
                    x.get("tags"),
                    x.get("elements"),
                    x.get("depth"),
                    x.get("text_nodes"),
                    x.get("rp_elements"),
                    x.get("text_len"),
                ]
                for x in adv
            ],
        )
    )
    g = a["guards"]
    parts.append(f"### Proposed guards {g['guards']}")
    parts.append(
        f"Real pages dropped: {len(g['dropped'])} of {a['n_pages']}; slowest passing page "
        f"{g['max_cpu_passing']:.3f} CPU-s (median), slowest single run {g['max_run_passing']:.3f}."
    )
    if g["dropped"]:
        parts.append(
            _table(
                ["dropped page", "why", "CPU-s", "text out", "text starts"],
                [
                    [d["id"][:60], " ".join(d["why"]), round(d["cpu"], 3), d["text_len"], (d["text_head"] or "")[:60]]
                    for d in g["dropped"]
                ],
            )
        )
    parts.append(
        _table(
            ["adversarial page", "CPU-s", "dropped by"],
            [
                [x["id"], _fmt(x["cpu"]) if x["cpu"] is not None else x["failed"], " ".join(x["why"]) or "PASSES"]
                for x in g["adversarial"]
            ],
        )
    )
    return "\n\n".join(parts)


# ---------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=1, help="child processes at once (the machine has 2 cores)")
    ap.add_argument("--chunk", type=int, default=40, help="pages per child task")
    ap.add_argument("--limit", type=int, default=None, help="measure only about this many real pages")
    ap.add_argument("--safety-s", type=float, default=60.0, help="CPU-s limit per call, so nothing stalls")
    ap.add_argument("--no-adversarial", action="store_true")
    ap.add_argument("--guards", default=DEFAULT_GUARDS, help="guards to evaluate, e.g. bytes=2e6,elements=20000")
    ap.add_argument("--output", type=Path, default=OUT / "extract_cost.json")
    ap.add_argument("--from-json", type=Path, help="no measuring: analyse and report a saved run again")
    ap.add_argument("--at-guard", default="5000,10000", help="tag counts to build worst-shape pages at")
    ap.add_argument("--at-guard-bytes", type=int, default=2_000_000, help="payload cap for those pages")
    ap.add_argument("--real-from", type=Path, help="take the real pages' measurements from this saved run")
    args = ap.parse_args()
    if args.from_json:
        result = json.loads(args.from_json.read_text())
        result["analysis"] = analyse(result["pages"], result["adversarial"], parse_guards(args.guards))
        args.from_json.write_text(json.dumps(result, indent=1, default=float))
        print(report(result))
        return 0

    wall0, self0, load0 = time.perf_counter(), time.process_time(), os.getloadavg()
    shared("html_eval")
    _import_before_fork()
    if args.real_from:
        real = json.loads(args.real_from.read_text())["pages"]
    else:
        real = measure_real(args, wall0)
    adversarial = []
    if not args.no_adversarial:
        at_guard = tuple(int(float(n)) for n in args.at_guard.split(",") if n)
        for page in adversarial_pages(at_guard, args.at_guard_bytes):
            adversarial.append(measure_adversarial(page, args.repeats, args.safety_s))
            x = adversarial[-1]
            print(f"  adversarial {x['id']}: {x.get('cpu', x.get('failed'))}", file=sys.stderr, flush=True)
    children = children_cpu_s()
    import lxml.etree
    import trafilatura

    result = {
        "config": {
            "repeats": args.repeats,
            "jobs": args.jobs,
            "safety_s": args.safety_s,
            "limit": args.limit,
            "trafilatura": trafilatura.__version__,
            "libxml2": ".".join(map(str, lxml.etree.LIBXML_VERSION)),
            "lxml": lxml.etree.__version__,
            "resiliparse": _resiliparse() is not None,
            "python": platform.python_version(),
            "cpu": _cpu_model(),
            "loadavg_start": load0,
        },
        "pages": real,
        "adversarial": adversarial,
    }
    result["analysis"] = analyse(real, adversarial, parse_guards(args.guards))
    result["runtime"] = {
        "wall_s": time.perf_counter() - wall0,
        "cpu_children_s": children,
        "cpu_self_s": time.process_time() - self0,
    }
    result["config"]["loadavg_end"] = os.getloadavg()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1, default=float))
    print(report(result))
    rt = result["runtime"]
    print(
        f"\nruntime: {rt['wall_s']:.0f} s wall, {rt['cpu_children_s']:.0f} CPU-s in children, "
        f"{rt['cpu_self_s']:.0f} CPU-s here; results: {args.output}"
    )
    return 0


def _import_before_fork() -> None:
    """Children are forked from here: importing what they run first means that every child runs the same code,
    even if someone edits the working tree while the benchmark runs."""
    import lxml.etree  # noqa: F401
    import trafilatura  # noqa: F401
    import trafilatura.utils  # noqa: F401

    import core.timelimit  # noqa: F401
    import extractors.main_text  # noqa: F401

    _extract_fn()


def measure_real(args, wall0: float) -> list[dict]:
    pages = real_pages(args.limit)
    print(f"{len(pages)} real pages; measuring with {args.jobs} child process(es)", file=sys.stderr, flush=True)
    real: list[dict] = []
    chunks = [pages[i : i + args.chunk] for i in range(0, len(pages), args.chunk)]
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=mp.get_context("fork")) as pool:
        futures = [pool.submit(measure_chunk, c, args.repeats, args.safety_s) for c in chunks]
        for n, fut in enumerate(as_completed(futures), 1):
            real += fut.result()
            print(f"  chunk {n}/{len(chunks)} done ({time.perf_counter() - wall0:.0f} s)", file=sys.stderr, flush=True)
    return sorted(real, key=lambda r: r["id"])


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    sys.exit(main())
