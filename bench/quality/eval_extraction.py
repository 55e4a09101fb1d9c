"""Extraction quality on the ScrapingHub article-extraction-benchmark (181 news/blog pages, manual gold).

    .venv/bin/python -m bench.quality.eval_extraction

Rows (same 181 pages, same gold `articleBody` from ground-truth.json):
  ours                      our `extract` stage as stages.yaml configures it (decode_html, then its `method`:
                            the cascade by default, or trafilatura 2.3.1 with favor_precision, tables on, comments
                            off), built from the registry; bench/quality/eval_extraction_all.py compares every method
  trafilatura 2.3.1 default the installed trafilatura called as the benchmark's own runner calls it,
                            `extract(html, include_comments=False)` on the UTF-8 text: isolates our settings
  trafilatura 2.0.0 (rec.)  reference_outputs/trafilatura.json, recorded by the benchmark
  readability-lxml (rec.)   reference_outputs/readability.json, recorded by the benchmark

Two metrics, both computed here (no upstream code is copied or imported):
  bag of words   tokens = whitespace-split, lowercased, every Unicode punctuation character (category P*)
                 removed, empty tokens dropped. Per page: overlap = size of the multiset intersection of
                 predicted and gold tokens; P = overlap / predicted tokens, R = overlap / gold tokens,
                 F1 = 2PR / (P + R). An empty prediction scores P = R = F1 = 0. Reported: the mean of
                 P, R and F1 over the 181 pages, and micro P/R/F1 from the summed counts.
  upstream       the definition in the benchmark's evaluate.py: tokens = regex \\w+ (case kept); multisets
                 of 4-token shingles; per page tp/fp/fn are the shingle multiset overlap / extra / missing,
                 divided by tp+fp+fn; P = mean per-page precision over pages with tp+fp > 0, R = mean per-page
                 recall over pages with tp+fn > 0 (fp = fn = 0 scores 1); F1 = 2PR/(P+R) of those means.
                 +- is 1.96 x the standard deviation over 1,000 bootstrap resamples of pages (seed 0), as upstream.
                 Upstream's README reports readability P 0.913, R 0.931, F1 0.922 with it (a check of this code).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import statistics
import time
import unicodedata
from collections import Counter

from bench.common import OUT, REPO, SHARED, shared

AEB = SHARED / "html_eval" / "scrapinghub_aeb"
UPSTREAM_README = {"readability-lxml (recorded)": (0.913, 0.931, 0.922)}
_WORD_RE = re.compile(r"\w+")


# ---------------------------------------------------------------- data


def load_benchmark() -> tuple[dict[str, str], dict[str, bytes]]:
    shared("html_eval", "scrapinghub_aeb", "ground-truth.json")
    gold = {k: v.get("articleBody") or "" for k, v in json.loads((AEB / "ground-truth.json").read_text()).items()}
    html = {}
    for key in gold:
        with gzip.open(AEB / "html" / f"{key}.html.gz", "rb") as f:
            html[key] = f.read()
    return gold, html


def load_recorded(name: str) -> tuple[dict[str, str], str]:
    data = json.loads((AEB / "reference_outputs" / f"{name}.json").read_text())
    return {k: v.get("articleBody") or "" for k, v in data["output"].items()}, str(data.get("version", "?"))


# ---------------------------------------------------------------- extractors


def extract_ours(html: dict[str, bytes]) -> tuple[dict[str, str], dict[str, int], float, str]:
    """Our `extract` stage, built from stages.yaml via the registry, on one batch of all pages."""
    from core.batch import from_rows
    from core.registry import REGISTRY
    from pipeline.config import load

    spec = next(s for s in load(REPO / "stages.yaml").stages if s.name == "extract")
    stage = REGISTRY.get(spec.name).build(spec.config)
    keys = sorted(html)
    rows = [{"doc_id": i, "id": k, "html": html[k], "charset": None} for i, k in enumerate(keys)]
    started = time.perf_counter()
    out = stage(from_rows(rows))
    seconds = time.perf_counter() - started
    texts, reasons = out.column("text").to_pylist(), out.column("drop_reason").to_pylist()
    drops = dict(Counter(r for r in reasons if r))
    return {k: t or "" for k, t in zip(keys, texts)}, drops, seconds, spec.config.method


def extract_trafilatura_default(html: dict[str, bytes]) -> tuple[dict[str, str], float]:
    """The benchmark's own runner: UTF-8 text (the pages are UTF-8), `extract(html, include_comments=False)`."""
    import trafilatura

    started = time.perf_counter()
    out = {k: trafilatura.extract(b.decode("utf-8"), include_comments=False) or "" for k, b in html.items()}
    return out, time.perf_counter() - started


# ---------------------------------------------------------------- metric 1: bag of words


def bow_tokens(text: str) -> list[str]:
    tokens = ("".join(c for c in word if not unicodedata.category(c).startswith("P")) for word in text.split())
    return [t for t in (t.lower() for t in tokens) if t]


def bow_counts(pred: str, gold: str) -> tuple[int, int, int]:
    """(overlap, predicted tokens, gold tokens) for one page."""
    p, g = Counter(bow_tokens(pred)), Counter(bow_tokens(gold))
    return sum((p & g).values()), sum(p.values()), sum(g.values())


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def bow_metrics(preds: dict[str, str], gold: dict[str, str]) -> dict[str, float]:
    counts = [bow_counts(preds.get(k, ""), gold[k]) for k in gold]
    pages = [(o / n if n else 0.0, o / m if m else 0.0) for o, n, m in counts]
    overlap, predicted, golden = (sum(c[i] for c in counts) for i in range(3))
    micro_p, micro_r = overlap / predicted if predicted else 0.0, overlap / golden
    return {
        "P": statistics.mean(p for p, _ in pages),
        "R": statistics.mean(r for _, r in pages),
        "F1": statistics.mean(_f1(p, r) for p, r in pages),
        "micro_P": micro_p,
        "micro_R": micro_r,
        "micro_F1": _f1(micro_p, micro_r),
        "empty": sum(n == 0 for _, n, _ in counts),
    }


# ---------------------------------------------------------------- metric 2: upstream's shingles


def shingles(text: str, n: int = 4) -> Counter:
    tokens = _WORD_RE.findall(text or "")
    if len(tokens) < n:  # short texts: one shingle of what there is (none if empty)
        return Counter([tuple(tokens)] if tokens else [])
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def shingle_page(pred: str, gold: str) -> tuple[float, float, float]:
    p, g = shingles(pred), shingles(gold)
    tp = sum((p & g).values())
    fp, fn = sum((p - g).values()), sum((g - p).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def _page_precision(tp: float, fp: float, fn: float) -> float:
    return 1.0 if fp == fn == 0 else (tp / (tp + fp) if tp + fp else 0.0)


def _page_recall(tp: float, fp: float, fn: float) -> float:
    return 1.0 if fp == fn == 0 else (tp / (tp + fn) if tp + fn else 0.0)


def shingle_summary(pages: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    precision = statistics.mean(_page_precision(*x) for x in pages if x[0] + x[1] > 0)
    recall = statistics.mean(_page_recall(*x) for x in pages if x[0] + x[2] > 0)
    return precision, recall, _f1(precision, recall)


def upstream_metrics(preds: dict[str, str], gold: dict[str, str], n_boot: int = 1000) -> dict[str, float]:
    pages = [shingle_page(preds.get(k, ""), gold[k]) for k in gold]
    p, r, f = shingle_summary(pages)
    rng = random.Random(0)
    boot = [shingle_summary([pages[rng.randrange(len(pages))] for _ in pages]) for _ in range(n_boot)]
    ci = [1.96 * statistics.stdev(b[i] for b in boot) for i in range(3)]
    return {"P": p, "R": r, "F1": f, "P_ci": ci[0], "R_ci": ci[1], "F1_ci": ci[2]}


# ---------------------------------------------------------------- report


def print_table(results: dict[str, dict]) -> None:
    print(f"\n{'':34}{'bag of words, page mean':>24}{'bag of words, micro':>24}{'upstream 4-gram shingles':>42}")
    header = ["P", "R", "F1"] * 2 + ["P", "R", "F1", "empty"]
    print(f"{'':34}" + "".join(f"{h:>8}" for h in header[:6]) + "".join(f"{h:>14}" for h in header[6:9]) + "   empty")
    for name, m in results.items():
        b, u = m["bow"], m["upstream"]
        cells = "".join(f"{b[k]:8.3f}" for k in ("P", "R", "F1", "micro_P", "micro_R", "micro_F1"))
        cells += "".join(f"{u[k]:8.3f}±{u[k + '_ci']:.3f}" for k in ("P", "R", "F1"))
        print(f"{name:34}{cells}{b['empty']:8d}")
    for name, (p, r, f) in UPSTREAM_README.items():
        print(f"check: upstream README reports {name.split(' ')[0]} P {p} R {r} F1 {f} with its evaluate.py")


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    gold, html = load_benchmark()
    ours, reasons, ours_s, method = extract_ours(html)
    default, default_s = extract_trafilatura_default(html)
    traf_rec, traf_version = load_recorded("trafilatura")
    read_rec, read_version = load_recorded("readability")
    systems = {
        f"ours (extract.method: {method})": ours,
        "trafilatura 2.3.1, upstream call": default,
        f"trafilatura {traf_version} (recorded)": traf_rec,
        "readability-lxml (recorded)": read_rec,
    }
    results = {
        name: {"bow": bow_metrics(p, gold), "upstream": upstream_metrics(p, gold)} for name, p in systems.items()
    }
    print(
        f"{len(gold)} pages; ours: {ours_s:.1f} s ({len(gold) / ours_s:.0f} pages/s), drops {reasons or 'none'}; "
        f"trafilatura defaults: {default_s:.1f} s; readability-lxml version recorded: {read_version}"
    )
    print_table(results)
    out = OUT / "eval_extraction.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(f"\nfull results: {out}")


if __name__ == "__main__":
    main()
