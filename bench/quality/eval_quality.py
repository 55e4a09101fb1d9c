"""Data, held-out numbers and throughput for the `quality_classifier` stage and its shipped model.

    .venv/bin/python -m bench.quality.eval_quality prepare      # training/eval files -> bench/out/quality/
    .venv/bin/python -m pipeline train-quality ...              # the exact command: MODEL_CARD_quality.md
    .venv/bin/python -m bench.quality.eval_quality eval         # re-derive the held-out numbers of the shipped model
    .venv/bin/python -m bench.quality.eval_quality throughput   # stage docs/s on 1,000 extracted English pages

`prepare` writes, from ../shared/data (read there, never copied into the repo):
- `wikitext2_sections.jsonl.gz`: WikiText-2 valid+test (Wikipedia Good/Featured articles), detokenized
  (` @-@ ` -> `-`, ` , ` -> `, `, `<unk>` removed), one document per level-2 section, `group` = article;
- `crawl_pages.jsonl.gz`: every page's main text as our pipeline extracts it (extractors.main_text's
  `extract` stage, default config = FineWeb's trafilatura settings), with its language per our `language`
  stage: the real WARCs (CommonCrawl 2014-2024, other crawls), the 2008-2010 CommonCrawl ARC files, and
  the html_eval pages; plus the CC-MAIN-2019-30 text documents; `group` = host;
- `crawl_negatives_en.jsonl.gz`: the crawl pages (WARC, ARC, CC-MAIN-2019-30) that our `language` stage
  keeps (en, p >= 0.65), i.e. what reaches `quality_classifier`, minus Wikipedia/Wikimedia pages;
- `article_pages_en.jsonl.gz`: the English html_eval pages, kept out of training: benchmark authors picked
  them as news/blog *articles* (the kind of page Wikipedia cites), not at random, so they are no "random
  crawl" negatives; `eval` reports how many the model keeps;
- `wikipedia_pages_en.jsonl.gz`: those English Wikipedia/Wikimedia pages, as crawled and extracted: never
  trained on, `eval` scores them to show how far "WikiText-like" is from "a real Wikipedia page".
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench.common import OUT, SHARED, shared

QUALITY_OUT = OUT / "quality"  # what `prepare` writes; the other commands, eval_perplexity and eval_toxicity read it
WIKIMEDIA = re.compile(
    r"(^|\.)(wikipedia|wiktionary|wikimedia|wikisource|wikiquote|wikibooks|wikinews|wikidata)\.org$"
)
# The split flags of the shipped model (MODEL_CARD_quality.md); `eval` rebuilds its held-out set with them.
TRAIN_ARGS = dict(seed=0, test_frac=0.1, min_chars=200)


def detokenize_wikitext(line: str) -> str:
    s = " ".join(line.replace("<unk>", " ").split())
    for tok, rep in ((" @-@ ", "-"), (" @,@ ", ","), (" @.@ ", ".")):
        s = s.replace(tok, rep)
    s = re.sub(r" ([,.;:!?%)\]}])", r"\1", s)
    s = re.sub(r"([(\[{$]) ", r"\1", s)
    s = re.sub(r" (' s|'s|n't|'re|'ve|'ll|'d|'m)\b", lambda m: m.group(1).replace(" ", ""), s)
    s = re.sub(r'" ([^"]*?) "', r'"\1"', s)
    return s


def wikitext_sections(path: Path) -> list[dict]:
    """One document per level-2 section (the lead counts as one), grouped by article.

    WikiText headings are ` = Title = `, ` = = Section = = `, ` = = = Subsection = = = `."""
    docs, article, lines = [], None, []
    for raw in path.read_text(encoding="utf-8").splitlines():
        heading = re.fullmatch(r" ((?:= )+)(.+?) \1", raw)
        level = heading.group(1).count("=") if heading else 0
        if level in (1, 2):
            if article and lines:
                docs.append({"text": "\n".join(lines), "group": f"wikitext2:{article}"})
            title = detokenize_wikitext(heading.group(2))
            article, lines = (title, []) if level == 1 else (article, [title])
        elif raw.strip():
            lines.append(detokenize_wikitext(heading.group(2) if heading else raw))
    if article and lines:
        docs.append({"text": "\n".join(lines), "group": f"wikitext2:{article}"})
    return docs


def _host(url: str | None) -> str | None:
    return (urlsplit(url).hostname or None) if url else None


def html_eval_pages() -> list[tuple[str, str | None, bytes]]:
    """(name, url or None, HTML bytes) for every page of html_eval/, in sorted path order."""
    base = SHARED / "html_eval"
    urls = {
        f"scrapinghub_aeb/html/{k}.html.gz": v["url"]
        for k, v in _json(base / "scrapinghub_aeb/ground-truth.json").items()
    }
    for url, entry in _json(base / "trafilatura_eval/evaldata.json").items():
        for sub in ("cache", "eval"):
            urls[f"trafilatura_eval/{sub}/{entry['file']}.gz"] = url
    pages = []
    for path in sorted(base.rglob("*.html.gz")):
        rel = str(path.relative_to(base))
        if rel.endswith("expected.html.gz"):
            continue  # Readability's expected output, not a page
        pages.append((rel, urls.get(rel), gzip.decompress(path.read_bytes())))
    return pages


def _json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def arc_pages(path: Path) -> list[tuple[str, str, bytes]]:
    """HTML bodies of a CommonCrawl 2008-2010 ARC v1 file (`URL IP date mime length` header, then length bytes)."""
    data, pos, pages = path.read_bytes(), 0, []
    while pos < len(data):
        end = data.index(b"\n", pos)
        header = data[pos:end].split(b" ")
        length = int(header[-1])
        body, pos = data[end + 1 : end + 1 + length], end + 1 + length + 1
        if header[-2].startswith(b"text/html") and body.startswith(b"HTTP/1") and b" 200 " in body[:20]:
            head, _, payload = body.partition(b"\r\n\r\n") if b"\r\n\r\n" in body else body.partition(b"\n\n")
            if b"content-encoding: gzip" in head.lower():
                try:
                    payload = gzip.decompress(payload)
                except (OSError, EOFError):
                    continue
            pages.append((f"{path.name}@{end}", header[0].decode("latin-1"), payload))
    return pages


def warc_rows() -> list[dict]:
    """Rows of every real WARC in shared/data/warc, through our `read` stage (HTML 200 responses only)."""
    from readers.warc import ReadConfig, WarcReader

    reader, rows = WarcReader(ReadConfig()), []
    for i, path in enumerate(sorted((SHARED / "warc").rglob("*.warc*"))):
        if ".wat" in path.name or ".wet" in path.name:
            continue
        rows += [r for r in reader(str(path), i) if r["drop_reason"] is None and r["error"] is None]
    return rows


def extract_pages() -> list[dict]:
    """Main text + language of every crawl page, with our `extract` and `language` stages' default configs."""
    from core.batch import from_rows
    from extractors.main_text import ExtractConfig, Extractor
    from filters.language import LanguageConfig, LanguageFilter

    rows = warc_rows()
    raw = [
        (f"arc:{n}", u, b) for p in sorted((SHARED / "warc/cc_legacy_arc").glob("*.arc")) for n, u, b in arc_pages(p)
    ]
    raw += [(f"html_eval:{n}", u, b) for n, u, b in html_eval_pages()]
    base = dict.fromkeys(["id", "date", "charset", "text", "drop_reason", "error"])
    for k, (name, url, body) in enumerate(raw):
        rows.append({**base, "doc_id": k, "url": url, "source": name, "html": body, "content_length": len(body)})
    extract, language, pages = Extractor(ExtractConfig()), LanguageFilter(LanguageConfig()), []
    for start in range(0, len(rows), 256):
        batch = language(extract(from_rows(rows[start : start + 256])))
        for r in batch.select(["url", "source", "text", "language", "language_score", "drop_reason"]).to_pylist():
            if r["text"]:
                pages.append(_page(r))
    return pages


def _page(r: dict) -> dict:
    lang_ok = r["drop_reason"] is None or not r["drop_reason"].startswith("language.")
    group = _host(r["url"]) or r["source"].split("@")[0]
    keys = ("text", "url", "source", "language", "language_score")
    return dict({k: r[k] for k in keys}, group=group, english=lang_ok)


def dolma_cc_docs() -> list[dict]:
    """CC-MAIN-2019-30 text documents (already extracted by dolma), with our language stage's verdict."""
    from core.batch import from_rows
    from filters.language import LanguageConfig, LanguageFilter

    with gzip.open(SHARED / "quality/cc_text_dolma_CC-MAIN-2019-30_697docs.jsonl.gz", "rt") as f:
        docs = [json.loads(line) for line in f]
    base = dict.fromkeys(["doc_id", "id", "date", "html", "charset", "content_length", "drop_reason", "error"])
    rows = [{**base, "url": d["metadata"]["warc_url"], "source": f"cc2019:{d['id']}", "text": d["text"]} for d in docs]
    batch = LanguageFilter(LanguageConfig())(from_rows(rows))
    return [_page(r) for r in batch.to_pylist() if r["text"]]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(path, "wb", mtime=0) as f:
        f.write("".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows).encode())
    print(f"wrote {path} ({len(rows)} documents)")


def cmd_prepare(args) -> None:
    wiki = [d for name in ("valid.txt", "test.txt") for d in wikitext_sections(SHARED / "quality/wikitext2" / name)]
    write_jsonl(QUALITY_OUT / "wikitext2_sections.jsonl.gz", wiki)
    pages = extract_pages() + dolma_cc_docs()
    write_jsonl(QUALITY_OUT / "crawl_pages.jsonl.gz", pages)
    english = [p for p in pages if p["english"]]
    write_jsonl(QUALITY_OUT / "wikipedia_pages_en.jsonl.gz", [p for p in english if _is_wikipedia(p)])
    english = [p for p in english if not _is_wikipedia(p)]
    write_jsonl(QUALITY_OUT / "crawl_negatives_en.jsonl.gz", [p for p in english if _kind(p) != KINDS[3]])
    write_jsonl(QUALITY_OUT / "article_pages_en.jsonl.gz", [p for p in english if _kind(p) == KINDS[3]])


def _is_wikipedia(page: dict) -> bool:
    return bool(WIKIMEDIA.search(_host(page["url"]) or "")) or "readability_test_pages/wikipedia" in page["source"]


def cmd_eval(args) -> None:
    from filters.quality_classifier import DEFAULT_MODEL, label_scores, load_model, one_line
    from filters.quality_train import TrainParams, held_out_metrics, load_split

    params = TrainParams(**TRAIN_ARGS)
    model = load_model(args.model or DEFAULT_MODEL)
    _, pos = load_split([str(QUALITY_OUT / "wikitext2_sections.jsonl.gz")] + [str(p) for p in _ccnet_files()], params)
    _, neg = load_split([str(QUALITY_OUT / "crawl_negatives_en.jsonl.gz")], params)
    print(f"model {args.model or DEFAULT_MODEL}; held out: {len(pos)} positive, {len(neg)} negative documents\n")
    print("| threshold | n | accuracy | precision (wiki) | recall (wiki) |\n|---|---|---|---|---|")
    for key, m in held_out_metrics(model, pos, neg, params.label).items():
        print(f"| {key[3:]} | {m['n']} | {m['accuracy']:.3f} | {m['precision']:.3f} | {m['recall']:.3f} |")
    held, pages = {d.text for d in neg}, read_pages("crawl_negatives_en")
    groups = {"held-out negatives, " + k: [p for p in pages if p["text"] in held and _kind(p) == k] for k in KINDS[:3]}
    groups["all crawl negatives (train + held out)"] = pages
    groups["html_eval article pages, never trained on"] = read_pages("article_pages_en")
    groups["real Wikipedia pages, never trained on"] = read_pages("wikipedia_pages_en")
    print("\n| documents | n | median p(wiki) | kept at 0.25 |\n|---|---|---|---|")
    for name, docs in groups.items():
        scores = sorted(label_scores(model, [one_line(d["text"]) for d in docs], "__label__" + params.label))
        if scores:
            kept = sum(s >= 0.25 for s in scores) / len(scores)
            print(f"| {name} | {len(scores)} | {scores[len(scores) // 2]:.3f} | {kept:.1%} |")


KINDS = ("CommonCrawl WARC/ARC", "CC-MAIN-2019-30 text", "other crawls", "html_eval articles")


def _kind(page: dict) -> str:
    source = page["source"]
    if source.startswith("arc:") or "/warc/cc/" in source:
        return KINDS[0]
    if source.startswith("cc2019:"):
        return KINDS[1]
    return KINDS[3] if source.startswith("html_eval:") else KINDS[2]


def _ccnet_files() -> list[Path]:
    return sorted((SHARED / "quality/ccnet_head_samples").glob("*.jsonl"))


def cmd_throughput(args) -> None:
    from filters.quality_classifier import QualityClassifier, QualityClassifierConfig

    texts = [p["text"] for p in read_pages("crawl_pages") if p["english"]][: args.n]
    stage = QualityClassifier(QualityClassifierConfig(model_path=args.model or ""))
    print(throughput(stage, texts))


def make_batch(texts: list[str]):
    """A pipeline batch (READ_SCHEMA) holding these texts, as the per-document stages get it."""
    import pyarrow as pa

    from core.batch import READ_SCHEMA as schema

    cols = {n: pa.nulls(len(texts), schema.field(n).type) for n in schema.names}
    cols["text"], cols["url"] = pa.array(texts, pa.large_string()), pa.array(["http://x/"] * len(texts))
    return pa.table(cols, schema=schema)


def throughput(stage, texts: list[str], batch_size: int = 256) -> str:
    """Docs/s of a stage over the given texts in pipeline-sized batches (quality.eval_toxicity uses it too)."""
    batches = [make_batch(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)]
    started = time.perf_counter()
    kept = sum(stage(b).column("drop_reason").null_count for b in batches)
    seconds = time.perf_counter() - started
    mb = sum(len(t.encode()) for t in texts) / 1e6
    return (
        f"{len(texts)} docs ({mb:.1f} MB) in {seconds:.2f} s: {len(texts) / seconds:,.0f} docs/s, "
        f"{mb / seconds:.2f} MB/s; kept {kept} of {len(texts)}"
    )


def read_pages(name: str) -> list[dict]:
    """One of the files `prepare` writes, by name (`crawl_pages`, `crawl_negatives_en`, ...)."""
    path = QUALITY_OUT / f"{name}.jsonl.gz"
    if not path.exists():
        sys.exit(f"{path} is missing: run `.venv/bin/python -m bench.quality.eval_quality prepare` first")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(required=True)
    sub.add_parser("prepare").set_defaults(func=cmd_prepare)
    for name, func in (("eval", cmd_eval), ("throughput", cmd_throughput)):
        p = sub.add_parser(name)
        p.add_argument("--model", help="model file (default: the shipped one)")
        p.add_argument("-n", type=int, default=1000, help="pages for throughput")
        p.set_defaults(func=func)
    args = parser.parse_args()
    shared()
    args.func(args)


if __name__ == "__main__":
    main()
