"""The text corpus the heuristic-filter benchmarks share: every document we can get out of ../shared/data.

    .venv/bin/python -m bench.filters_corpus            # builds bench/out/filters_corpus.jsonl.gz (~1 min, 2 cores)
    .venv/bin/python -m bench.filters_corpus --rebuild

Sources (all real pages; see each folder's PROVENANCE.md):
  html_eval/   source pages of scrapinghub_aeb, trafilatura_eval (cache + eval), readability_test_pages
               (source.html only), cmoncrawl_czech_news (test + filter articles): 1,446 pages
  warc/        response records of every .warc / .warc.gz (fastwarc, through our `read` stage: HTML 2xx only)
               and the conversion records of the WET file; the legacy .arc files are not WARC and are skipped
  quality/     the CC-MAIN-2019-30 jsonl.gz texts and the CCNet head samples, as they are
HTML is decoded with `extractors.main_text.decode_html` and extracted with trafilatura under our `extract`
settings (favor_precision, no comments, tables, deduplicate=False); pages with no text are left out.
Each record: id, source, text, lang + lang_score (our lid.176.ftz on the text as one line).

`load_corpus()` uses the standard library only, so datatrove's venv can read the same file (perf.bench_filters
and quality.parity_filters run their datatrove sides with `-m` from the repository root, which imports this module).
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

from bench.common import OUT, SHARED, shared

CORPUS = OUT / "filters_corpus.jsonl.gz"
EXTRACT_TIMEOUT_S = 20.0  # generous: the corpus must not depend on this machine's speed


def load_corpus(path: Path = CORPUS) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def is_english(record: dict) -> bool:
    """FineWeb's language rule, as our `language` stage applies it: top label en, score >= 0.65."""
    return record["lang"] == "en" and record["lang_score"] >= 0.65


def html_pages() -> list[tuple[str, str, Path]]:
    root = SHARED / "html_eval"
    groups = {
        "scrapinghub_aeb": sorted((root / "scrapinghub_aeb" / "html").glob("*.html*")),
        "trafilatura_eval": sorted((root / "trafilatura_eval").glob("[ce]*/*.htm*")),
        "readability": sorted((root / "readability_test_pages").glob("*/source.html*")),
        "cmoncrawl_czech": sorted((root / "cmoncrawl_czech_news").glob("*/*_articles/*.htm*")),
    }
    return [(f"{source}:{p.relative_to(root)}", source, p) for source, paths in groups.items() for p in paths]


def _extract_page(item: tuple[str, str, bytes, str | None]) -> dict | None:
    import trafilatura

    from core.timelimit import TimeLimitExceeded, time_limit
    from extractors.main_text import ExtractConfig, decode_html

    doc_id, source, body, charset = item
    cfg = ExtractConfig()
    try:
        with time_limit(EXTRACT_TIMEOUT_S):
            text = trafilatura.extract(
                decode_html(body, charset),
                favor_precision=cfg.favor_precision,
                include_comments=cfg.include_comments,
                include_tables=cfg.include_tables,
                deduplicate=False,
            )
    except (TimeLimitExceeded, Exception):
        return None
    text = (text or "").strip()
    return {"id": doc_id, "source": source, "text": text} if text else None


def _html_items():
    for doc_id, source, path in html_pages():
        body = path.read_bytes()
        yield doc_id, source, gzip.decompress(body) if path.suffix == ".gz" else body, None


def _warc_rows() -> tuple[list, list[dict]]:
    """(HTML items to extract, WET text records)."""
    from readers.warc import ReadConfig, WarcReader

    items, texts = [], []
    paths = sorted(p for p in (SHARED / "warc").rglob("*") if p.name.endswith((".warc", ".warc.gz", ".wet.gz")))
    for file_index, path in enumerate(paths):
        rel = path.relative_to(SHARED / "warc")
        for row in WarcReader(ReadConfig())(str(path), file_index):
            if row.get("drop_reason"):
                continue
            doc_id = f"warc:{rel}#{row['doc_id'] & 0xFFFFFFFF}"
            if row.get("html") is not None:
                items.append((doc_id, "warc", row["html"], row.get("charset")))
            elif (row.get("text") or "").strip():
                texts.append({"id": doc_id, "source": "wet", "text": row["text"].strip()})
    return items, texts


def _quality_texts() -> list[dict]:
    out = []
    with gzip.open(SHARED / "quality" / "cc_text_dolma_CC-MAIN-2019-30_697docs.jsonl.gz", "rt") as f:
        for i, line in enumerate(f):
            out.append({"id": f"cc2019:{i}", "source": "cc_2019_30", "text": json.loads(line)["text"]})
    for path in sorted((SHARED / "quality" / "ccnet_head_samples").glob("*.jsonl")):
        for i, line in enumerate(path.read_text().splitlines()):
            out.append({"id": f"ccnet:{path.stem}:{i}", "source": "ccnet_head", "text": _ccnet_text(json.loads(line))})
    return [r for r in out if r["text"].strip()]


def _ccnet_text(row: dict) -> str:
    return row.get("text") or row.get("raw_content") or ""


def _add_language(records: list[dict]) -> None:
    import fasttext

    from filters.language import DEFAULT_MODEL

    model = fasttext.load_model(DEFAULT_MODEL)
    labels, scores = model.predict([r["text"].replace("\n", " ") for r in records], k=1)
    for r, label, score in zip(records, labels, scores):
        r["lang"] = label[0].removeprefix("__label__")
        r["lang_score"] = round(float(score[0]), 4)


def build(path: Path = CORPUS, workers: int = 2) -> list[dict]:
    from multiprocessing import Pool

    shared("html_eval")
    started = time.perf_counter()
    warc_items, records = _warc_rows()
    items = list(_html_items()) + warc_items
    with Pool(workers) as pool:
        extracted = pool.map(_extract_page, items, chunksize=8)
    records = [r for r in extracted if r] + records + _quality_texts()
    _add_language(records)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.rename(path)
    print(
        f"{len(records)} documents ({len(items)} pages extracted) in {time.perf_counter() - started:.0f} s -> {path}"
    )
    return records


def corpus(rebuild: bool = False) -> list[dict]:
    """The cached corpus, built on first use."""
    if rebuild or not CORPUS.exists():
        return build()
    return load_corpus()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rebuild", action="store_true")
    records = corpus(parser.parse_args().rebuild)
    counts: dict[str, int] = {}
    for r in records:
        counts[r["source"]] = counts.get(r["source"], 0) + 1
    english = sum(map(is_english, records))
    print(f"{len(records)} documents, {english} English (lid.176 en >= 0.65); by source: {counts}")


if __name__ == "__main__":
    main()
