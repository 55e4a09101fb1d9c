"""Build a CommonCrawl-like benchmark WARC from the real HTML pages in ../shared/data/html_eval/.

Why: there is no real CommonCrawl segment on this machine (shared/data/README.md), only real pages
that benchmark authors captured from the web. We wrap each page, byte for byte, in WARC records laid out
like a CommonCrawl WARC, so readers and extractors see realistic HTML in a realistic container. The
container is ours, the pages are not: say so when quoting numbers measured on it.

Layout (one gzip member per record, as CommonCrawl): a `warcinfo` record, then per page a `request`,
a `response` (HTTP/1.1 200, `Content-Type: text/html; charset=...`, `WARC-Identified-Payload-Type:
text/html`, SHA-1 block/payload digests) and a `metadata` record (CommonCrawl writes one per page too).
As CommonCrawl does, bodies over 1 MiB are cut at 1 MiB and marked `WARC-Truncated: length`.

Declared charset: the page's `<meta charset>` if the bytes decode strictly with it, else UTF-8 if they
decode as UTF-8, else none (the reader must detect): what an honest server would send.

Deterministic: fixed record ids (uuid5), fixed dates, gzip mtime 0, pages in sorted path order.

    .venv/bin/python -m bench.make_bench_warc                 # bench/out/bench.warc.gz
    .venv/bin/python -m bench.make_bench_warc --repeat 4      # every page 4 times (bigger file)
    .venv/bin/python -m bench.make_bench_warc --shards 4      # also the same records split into 4 files
    .venv/bin/python -m bench.make_bench_warc --mix cc        # bench/out/bench-ccmix.warc.gz (see below)
    .venv/bin/python -m bench.make_bench_warc --mix all       # bench/out/bench-allpages.warc.gz

Mixes (`--mix`, for bench/perf/e2e_datatrove.py; the default output above is unchanged by them). Pool: the html_eval
pages above plus every HTML page our `read` stage takes from the real crawl files of ../shared/data/warc
(CommonCrawl WARC and 2008-2010 ARC records, other crawls' WARCs: HTTP 2xx, HTML, body decoded), each wrapped as
above (a crawl page keeps its server's charset). Every page is labelled once with the language our `language`
stage gives its text after our `extract` stage (top-1 lid.176 label, any score; `und` when extraction leaves no
text), cached in bench/out/page_languages.json.
  all  every page of the pool.
  cc   CommonCrawl's language mix, roughly: every English page, plus other-language pages drawn so that English
       is 45% of the pages (CommonCrawl: 43.4%) and the rest follows CommonCrawl's shares by language
       (CC_LANGUAGE_SHARES) as far as the pool has pages of that language (water-filling: a language short of
       its quota gives its slots to the others in proportion to their shares).
Both mixes are deterministic: within a language, pages are taken in sha1(path) order, and records are written in
sha1(path) order (languages and sources interleaved, as in a crawl), not in the sets' order.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import glob
import gzip
import hashlib
import json
import os
import re
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from bench.common import OUT, SHARED, shared

HTML_EVAL = SHARED / "html_eval"
CRAWL_DIR = SHARED / "warc"
CC_TRUNCATE_BYTES = 1 << 20  # CommonCrawl's content limit
START_DATE = dt.datetime(2024, 5, 18, 0, 0, 0, tzinfo=dt.timezone.utc)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)


@dataclass(frozen=True)
class Page:
    source: str  # which evaluation set
    path: str  # relative to HTML_EVAL
    url: str
    html: bytes
    charset: str | None = None  # the server's, for a page taken from a real crawl; else declared_charset(html)


def _gunzip(path: Path) -> bytes:
    with gzip.open(path, "rb") as f:
        return f.read()


def _scrapinghub_urls() -> dict[str, str]:
    truth = json.loads((HTML_EVAL / "scrapinghub_aeb" / "ground-truth.json").read_text())
    return {f"{key}.html.gz": item["url"] for key, item in truth.items()}


def _trafilatura_urls() -> dict[str, str]:
    evaldata = json.loads((HTML_EVAL / "trafilatura_eval" / "evaldata.json").read_text())
    return {f"{item['file']}.gz": url for url, item in evaldata.items()}


def _cmoncrawl_url(path: Path) -> str | None:
    truth = path.parent.parent / "truth" / path.name.replace(".html.gz", ".json")
    if truth.is_file():
        return json.loads(truth.read_text()).get("url")
    return None


def _valid_url(url: str | None) -> str | None:
    """An http(s) URL with spaces escaped; None for the eval sets' non-URL keys (e.g. `hard::blog.python.org`)."""
    if not url or not url.lower().startswith(("http://", "https://")):
        return None
    return quote(url.strip(), safe=":/?#[]@!$&'()*+,;=%~")


def collect_pages() -> list[Page]:
    """Every real page of the four sets, in sorted path order; a URL from the set's metadata where it has one
    (else a made-up one under the reserved `.invalid` TLD: nothing downstream looks at it)."""
    sh_urls, tr_urls = _scrapinghub_urls(), _trafilatura_urls()
    sets = [
        ("scrapinghub_aeb", "scrapinghub_aeb/html/*.html.gz", lambda p: sh_urls.get(p.name)),
        ("trafilatura_eval", "trafilatura_eval/*/*.html.gz", lambda p: tr_urls.get(p.name)),
        ("readability_test_pages", "readability_test_pages/*/source.html.gz", lambda p: None),
        ("cmoncrawl_czech_news", "cmoncrawl_czech_news/*/*/*.html.gz", _cmoncrawl_url),
    ]
    pages = []
    for source, pattern, url_of in sets:
        for name in sorted(glob.glob(str(HTML_EVAL / pattern))):
            path = Path(name)
            rel = str(path.relative_to(HTML_EVAL))
            made_up = f"https://{source.replace('_', '-')}.invalid/{rel.removesuffix('.html.gz')}"
            url = _valid_url(url_of(path)) or made_up
            pages.append(Page(source, rel, url, _gunzip(path)))
    return pages


def declared_charset(html: bytes) -> str | None:
    match = _META_CHARSET.search(html[:4096])
    candidates = [match.group(1).decode("ascii", "ignore").lower()] if match else []
    for name in candidates + ["utf-8"]:
        try:
            html.decode(name)
            return name
        except (UnicodeDecodeError, LookupError):
            continue
    return None


def _sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def _record_id(*parts: object) -> str:
    return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'bench-warc:' + ':'.join(map(str, parts)))}>"


def _warc_date(seq: int) -> str:
    return (START_DATE + dt.timedelta(seconds=seq)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _record(headers: list[tuple[str, str]], block: bytes) -> bytes:
    """One WARC record as its own gzip member (mtime 0: byte-identical runs)."""
    head = "WARC/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    head += f"Content-Length: {len(block)}\r\n\r\n"
    return gzip.compress(head.encode("utf-8") + block + b"\r\n\r\n", compresslevel=6, mtime=0)


def warcinfo_record(filename: str, shard: int) -> bytes:
    block = (
        "isPartOf: bench-html-eval\r\n"
        "description: real pages from shared/data/html_eval wrapped in CommonCrawl-like WARC records "
        "by bench/make_bench_warc.py (not a CommonCrawl segment)\r\n"
        "format: WARC File Format 1.0\r\n"
    ).encode()
    headers = [
        ("WARC-Type", "warcinfo"),
        ("WARC-Date", _warc_date(0)),
        ("WARC-Filename", filename),
        ("WARC-Record-ID", _record_id("warcinfo", shard)),
        ("Content-Type", "application/warc-fields"),
    ]
    return _record(headers, block)


def page_records(page: Page, seq: int, copy: int, warcinfo_id: str) -> bytes:
    """request + response + metadata for one page: CommonCrawl's three records per capture."""
    response_id = _record_id("response", copy, page.path)
    common = [("WARC-Date", _warc_date(seq)), ("WARC-Warcinfo-ID", warcinfo_id), ("WARC-IP-Address", "192.0.2.1")]
    request = _request_record(page, _record_id("request", copy, page.path), response_id, common)
    response = _response_record(page, response_id, common, seq)
    metadata = _metadata_record(page, _record_id("metadata", copy, page.path), response_id, common)
    return request + response + metadata


def _request_record(page: Page, record_id: str, response_id: str, common: list) -> bytes:
    parts = urlsplit(page.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    block = (
        f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        "User-Agent: CCBot/2.0 (https://commoncrawl.org/faq/)\r\nAccept: text/html\r\n\r\n"
    ).encode("utf-8")
    headers = [("WARC-Type", "request"), ("WARC-Record-ID", record_id), *common]
    headers += [("WARC-Concurrent-To", response_id), ("WARC-Target-URI", page.url)]
    return _record(headers + [("Content-Type", "application/http; msgtype=request")], block)


def _response_record(page: Page, record_id: str, common: list, seq: int) -> bytes:
    """HTTP 200 with the page as its body, cut at 1 MiB like CommonCrawl (`WARC-Truncated: length`)."""
    body = page.html[:CC_TRUNCATE_BYTES]
    charset = page.charset or declared_charset(page.html)
    http_date = (START_DATE + dt.timedelta(seconds=seq)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    http_head = (
        f"HTTP/1.1 200 OK\r\nDate: {http_date}\r\nServer: Apache\r\n"
        f"Content-Type: text/html{f'; charset={charset}' if charset else ''}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    block = http_head + body
    headers = [("WARC-Type", "response"), ("WARC-Record-ID", record_id), *common]
    headers += [
        ("WARC-Target-URI", page.url),
        ("Content-Type", "application/http; msgtype=response"),
        ("WARC-Payload-Digest", _sha1_b32(body)),
        ("WARC-Block-Digest", _sha1_b32(block)),
        ("WARC-Identified-Payload-Type", "text/html"),
    ]
    if len(page.html) > CC_TRUNCATE_BYTES:
        headers.append(("WARC-Truncated", "length"))
    return _record(headers, block)


def _metadata_record(page: Page, record_id: str, response_id: str, common: list) -> bytes:
    block = f"fetchTimeMs: 100\r\nbench-source: {page.source}/{page.path}\r\n".encode()
    headers = [("WARC-Type", "metadata"), ("WARC-Record-ID", record_id), *common]
    headers += [("WARC-Concurrent-To", response_id), ("WARC-Target-URI", page.url)]
    return _record(headers + [("Content-Type", "application/warc-fields")], block)


# Copy k > 0 of a page, with `vary`: one common adjective inserted after every " the " (about one word in 15),
# and `?v=k` on the URL. The text differs from the original (exact dedup keeps it) but stays a near
# duplicate of it to some degree (MinHash removes some), and it stays English with its stop words.
VARIANT_WORDS = [b"new", b"old", b"other", b"local", b"whole", b"main", b"same", b"small", b"large", b"early"]


def varied(page: Page, copy: int) -> Page:
    first, second = divmod(copy - 1, len(VARIANT_WORDS))  # copies 11.. get two words: "the new old ..."
    words = VARIANT_WORDS[second] + (b" " + VARIANT_WORDS[first % len(VARIANT_WORDS)] if first else b"")
    url = f"{page.url}{'&' if '?' in page.url else '?'}v={copy}"
    return Page(page.source, page.path, url, page.html.replace(b" the ", b" the " + words + b" "), page.charset)


def write_warcs(pages: list[Page], repeat: int, paths: list[Path], vary: bool = False) -> list[int]:
    """Write the pages (`repeat` times over) round-robin into `paths`; returns response records per file.
    With `vary`, each copy after the first is a variation of the page (`varied`), not an exact copy."""
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = [path.with_name(path.name + ".tmp") for path in paths]
    files = [open(t, "wb") for t in tmp]
    counts = [0] * len(paths)
    try:
        ids = []
        for shard, (f, path) in enumerate(zip(files, paths)):
            f.write(warcinfo_record(path.name, shard))
            ids.append(_record_id("warcinfo", shard))
        seq = 0
        for copy in range(repeat):
            for page in pages:
                page = varied(page, copy) if vary and copy else page
                shard = seq % len(paths)
                files[shard].write(page_records(page, seq, copy, ids[shard]))
                counts[shard] += 1
                seq += 1
    finally:
        for f in files:
            f.close()
    for t, path in zip(tmp, paths):
        os.replace(t, path)
    return counts


def default_path(repeat: int, vary: bool = False) -> Path:
    return OUT / ("bench.warc.gz" if repeat == 1 else f"bench-x{repeat}{'v' if vary else ''}.warc.gz")


def shard_paths(repeat: int, shards: int) -> list[Path]:
    folder = OUT / (f"shards{shards}" if repeat == 1 else f"shards{shards}-x{repeat}")
    return [folder / f"bench-{i:05d}.warc.gz" for i in range(shards)]


def build(repeat: int = 1, shards: int = 0, pages: list[Page] | None = None, vary: bool = False) -> dict:
    """Build the single-file WARC (and, with `shards`, the same records split over that many files)."""
    shared("html_eval")
    pages = pages if pages is not None else collect_pages()
    single = default_path(repeat, vary)
    (responses,) = write_warcs(pages, repeat, [single], vary)
    info = {
        "path": str(single),
        "responses": responses,
        "bytes": single.stat().st_size,
        "html_bytes": repeat * sum(len(p.html) for p in pages),
        "truncated": repeat * sum(len(p.html) > CC_TRUNCATE_BYTES for p in pages),
        "by_source": _count_by_source(pages, repeat),
    }
    if shards:
        paths = shard_paths(repeat, shards)
        write_warcs(pages, repeat, paths)
        info["shards"] = [str(p) for p in paths]
    return info


def _count_by_source(pages: list[Page], repeat: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for page in pages:
        counts[page.source] = counts.get(page.source, 0) + repeat
    return counts


# ---------------------------------------------------------------- language mixes (--mix)

MIXES = ("cc", "all")
ENGLISH_SHARE = 0.45
# Share of pages (%) by primary language in CommonCrawl's CC-MAIN-2024-42 crawl (CLD2 on the HTML page), from
# commoncrawl/cc-crawl-statistics plots/languages-top-200.html, as lid.176 codes; `und` is CLD2's <unknown>, used
# here for pages that extraction leaves without text. Languages not listed weigh UNLISTED_SHARE.
CC_LANGUAGE_SHARES = {
    "en": 43.42, "ru": 6.04, "de": 5.30, "ja": 5.04, "zh": 4.81, "es": 4.54, "fr": 4.40, "it": 2.53,
    "pt": 2.31, "nl": 1.81, "pl": 1.81, "tr": 1.24, "id": 1.12, "cs": 1.06, "vi": 1.05, "ko": 0.74,
    "fa": 0.71, "ar": 0.67, "sv": 0.66, "uk": 0.60, "ro": 0.60, "el": 0.57, "hu": 0.56, "da": 0.46,
    "th": 0.41, "sk": 0.37, "fi": 0.34, "no": 0.31, "bg": 0.30, "he": 0.25, "sr": 0.22, "hr": 0.21,
    "ca": 0.21, "hi": 0.21, "lt": 0.17, "sl": 0.16, "et": 0.13, "bn": 0.12, "la": 0.10, "lv": 0.09,
    "ms": 0.08, "az": 0.07, "bs": 0.05, "sq": 0.05, "ne": 0.05, "ta": 0.05, "mk": 0.04, "ka": 0.04,
    "is": 0.04, "gl": 0.04, "eu": 0.04, "hy": 0.03, "ur": 0.03, "und": 3.28,
}  # fmt: skip
UNLISTED_SHARE = 0.01
LABELS_PATH = OUT / "page_languages.json"


def collect_crawl_pages() -> list[Page]:
    """Every HTML page our `read` stage takes from the real crawl files (HTTP 2xx, HTML, body decoded)."""
    from core.registry import REGISTRY

    entry = REGISTRY.get("read")
    pages = []
    files = sorted(p for p in CRAWL_DIR.rglob("*") if p.is_file() and p.suffix != ".md")
    for index, path in enumerate(files):
        rel = str(path.relative_to(CRAWL_DIR))
        reader = entry.build(entry.config_cls())
        try:
            rows = list(reader(str(path), index))
        except Exception:  # a WAT file, say: no response records
            continue
        for row in rows:
            if row["html"] is not None and not row["drop_reason"] and not row["error"]:
                key = f"warc/{rel}#{row['doc_id'] & 0xFFFFFFFF}"
                source = "crawl_" + rel.split("/", 1)[0]
                pages.append(Page(source, key, row["url"], row["html"], row["charset"]))
    return pages


def _sha1(text: str | bytes) -> str:
    return hashlib.sha1(text.encode() if isinstance(text, str) else text).hexdigest()


def label_languages(pages: list[Page], warc: Path) -> dict[str, dict]:
    """Page path -> {language, score, reason}: our extract + language stages over `warc` (which holds `pages`),
    with every language kept; cached in LABELS_PATH by page content."""
    want = {p.path: _sha1(p.html) for p in pages}
    if LABELS_PATH.exists():
        cached = json.loads(LABELS_PATH.read_text())
        if {k: v["sha1"] for k, v in cached["pages"].items()} == want:
            return cached["pages"]
    labels = _run_labeling(warc)
    by_id = {_record_id("response", 0, p.path): p for p in pages}
    out = {}
    for record_id, label in labels.items():
        page = by_id[record_id]
        out[page.path] = {"sha1": want[page.path], **label}
    missing = set(want) - set(out)
    if missing:
        sys.exit(f"labelling gave no result for {len(missing)} pages, e.g. {sorted(missing)[:3]}")
    LABELS_PATH.write_text(json.dumps({"how": LABEL_RECIPE, "pages": out}, indent=0, sort_keys=True))
    return out


LABEL_RECIPE = (
    "pipeline.filepass.process_file, stages read (defaults), extract (defaults, favor_precision true, method "
    "trafilatura where the stage has a method), language (languages [], min_score 0: every language kept); "
    "language = top-1 lid.176 label on the extracted text, und = no text"
)


def _run_labeling(warc: Path) -> dict[str, dict]:
    import dataclasses
    import shutil

    import pyarrow.parquet as pq

    from core.registry import REGISTRY
    from pipeline.config import load
    from pipeline.filepass import process_file

    extract = {"stage": "extract", "favor_precision": True}
    if "method" in {f.name for f in dataclasses.fields(REGISTRY.get("extract").config_cls)}:
        extract["method"] = "trafilatura"
    recipe = {
        "drop_samples_per_reason": 10**9,
        "stages": [{"stage": "read"}, extract, {"stage": "language", "languages": [], "min_score": 0.0}],
    }
    work = OUT / "label-run"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    config_path = work / "stages-label.yaml"
    config_path.write_text(json.dumps(recipe))  # JSON is YAML
    config = load(config_path).with_overrides(input=(str(warc),), output=str(work))
    print(f"labelling the languages of {warc.name} with our extract + language stages ...", flush=True)
    process_file(0, str(warc), config)
    labels = {}
    kept = pq.read_table(work / "docs" / "part-000000.parquet", columns=["id", "language", "language_score"])
    for rid, lang, score in zip(*(kept.column(c).to_pylist() for c in ("id", "language", "language_score"))):
        labels[rid] = {"language": lang, "score": round(float(score), 4), "reason": None}
    dropped = pq.read_table(work / "dropped" / "part-000000.parquet", columns=["id", "drop_reason"])
    for rid, reason in zip(dropped.column("id").to_pylist(), dropped.column("drop_reason").to_pylist()):
        labels[rid] = {"language": "und", "score": None, "reason": reason}
    return labels


def allocate(slots: int, available: dict[str, int], weight: dict[str, float]) -> dict[str, int]:
    """Split `slots` over languages in proportion to `weight`, none above what is available (water-filling,
    then largest remainders; ties by language code)."""
    alloc = dict.fromkeys(available, 0)
    open_langs = {lang for lang, n in available.items() if n > 0}
    remaining = min(slots, sum(available.values()))
    while remaining > 0 and open_langs:
        total = sum(weight[lang] for lang in open_langs)
        share = {lang: remaining * weight[lang] / total for lang in open_langs}
        full = {lang for lang in open_langs if alloc[lang] + share[lang] >= available[lang]}
        if full:
            for lang in full:
                remaining -= available[lang] - alloc[lang]
                alloc[lang] = available[lang]
            open_langs -= full
            continue
        floors = {lang: int(share[lang]) for lang in open_langs}
        extra = remaining - sum(floors.values())
        for lang in sorted(open_langs, key=lambda g: (floors[g] - share[g], g))[:extra]:
            floors[lang] += 1
        for lang in open_langs:
            alloc[lang] += floors[lang]
        remaining = 0
    return alloc


def select_cc_mix(pages: list[Page], labels: dict[str, dict]) -> list[Page]:
    by_lang: dict[str, list[Page]] = {}
    for page in sorted(pages, key=lambda p: _sha1("pick:" + p.path)):
        by_lang.setdefault(labels[page.path]["language"], []).append(page)
    english = by_lang.pop("en", [])
    slots = round(len(english) / ENGLISH_SHARE) - len(english)
    weight = {lang: CC_LANGUAGE_SHARES.get(lang, UNLISTED_SHARE) for lang in by_lang}
    quota = allocate(slots, {lang: len(ps) for lang, ps in by_lang.items()}, weight)
    return english + [p for lang, ps in by_lang.items() for p in ps[: quota[lang]]]


def mix_path(kind: str) -> Path:
    return OUT / ("bench-ccmix.warc.gz" if kind == "cc" else "bench-allpages.warc.gz")


def build_mix(kind: str) -> dict:
    """Write the `cc` or `all` mix (and the all-pages WARC, which labelling reads); returns its description."""
    shared("html_eval")
    pool = collect_pages() + collect_crawl_pages()
    order = sorted(pool, key=lambda p: _sha1("order:" + p.path))
    everything = mix_path("all")
    write_warcs(order, 1, [everything])
    labels = label_languages(order, everything)
    picked = {p.path for p in select_cc_mix(pool, labels)} if kind == "cc" else None
    chosen = order if picked is None else [p for p in order if p.path in picked]
    path = mix_path(kind)
    if kind != "all":
        write_warcs(chosen, 1, [path])
    langs = [labels[p.path]["language"] for p in chosen]
    by_language = {lang: langs.count(lang) for lang in sorted(set(langs), key=lambda g: (-langs.count(g), g))}
    info = {
        "path": str(path),
        "mix": kind,
        "responses": len(chosen),
        "bytes": path.stat().st_size,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "html_bytes": sum(len(p.html) for p in chosen),
        "truncated": sum(len(p.html) > CC_TRUNCATE_BYTES for p in chosen),
        "english_share": langs.count("en") / len(chosen),
        "english_pages_ge_065": sum(
            labels[p.path]["language"] == "en" and labels[p.path]["score"] >= 0.65 for p in chosen
        ),
        "by_language": by_language,
        "by_source": _count_by_source(chosen, 1),
        "pool": len(pool),
        "labels": LABEL_RECIPE,
    }
    path.with_suffix(".json").write_text(json.dumps(info, indent=1))
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="write every page N times (default 1)")
    parser.add_argument("--shards", type=int, default=0, help="also write the records split over N files")
    parser.add_argument("--mix", choices=MIXES, help="instead: the CommonCrawl-like language mix, or every page")
    args = parser.parse_args()
    if args.mix:
        info = build_mix(args.mix)
        size = f"{info['bytes'] / 1e6:.1f} MB gzipped, sha256 {info['sha256'][:12]}"
        print(f"{info['path']}: {info['responses']} pages, {size}")
        print(f"  English {info['english_share']:.1%}; by language: {info['by_language']}")
        print(f"  by source: {info['by_source']}")
        return
    info = build(args.repeat, args.shards)
    print(
        f"{info['path']}: {info['responses']} pages, {info['bytes'] / 1e6:.1f} MB gzipped, "
        f"{info['html_bytes'] / 1e6:.1f} MB of HTML, {info['truncated']} cut at 1 MiB; {info['by_source']}"
    )
    for path in info.get("shards", []):
        print(f"  shard {path}")


if __name__ == "__main__":
    main()
