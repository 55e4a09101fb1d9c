"""Build a CommonCrawl-like benchmark WARC from the real HTML pages in /work/shared/data/html_eval/.

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

    .venv/bin/python bench/make_bench_warc.py                 # bench/out/bench.warc.gz
    .venv/bin/python bench/make_bench_warc.py --repeat 4      # every page 4 times (bigger file)
    .venv/bin/python bench/make_bench_warc.py --shards 4      # also the same records split into 4 files
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

HTML_EVAL = Path(os.environ.get("HTML_EVAL_DIR", "/work/shared/data/html_eval"))
OUT_DIR = Path(__file__).resolve().parent / "out"
CC_TRUNCATE_BYTES = 1 << 20  # CommonCrawl's content limit
START_DATE = dt.datetime(2024, 5, 18, 0, 0, 0, tzinfo=dt.timezone.utc)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)


@dataclass(frozen=True)
class Page:
    source: str  # which evaluation set
    path: str  # relative to HTML_EVAL
    url: str
    html: bytes


def require_data() -> None:
    if not HTML_EVAL.is_dir():
        sys.exit(f"SKIP: {HTML_EVAL} is absent: the benchmark WARC is built from its real HTML pages")


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
    charset = declared_charset(page.html)
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
    return Page(page.source, page.path, url, page.html.replace(b" the ", b" the " + words + b" "))


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
    return OUT_DIR / ("bench.warc.gz" if repeat == 1 else f"bench-x{repeat}{'v' if vary else ''}.warc.gz")


def shard_paths(repeat: int, shards: int) -> list[Path]:
    folder = OUT_DIR / (f"shards{shards}" if repeat == 1 else f"shards{shards}-x{repeat}")
    return [folder / f"bench-{i:05d}.warc.gz" for i in range(shards)]


def build(repeat: int = 1, shards: int = 0, pages: list[Page] | None = None, vary: bool = False) -> dict:
    """Build the single-file WARC (and, with `shards`, the same records split over that many files)."""
    require_data()
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="write every page N times (default 1)")
    parser.add_argument("--shards", type=int, default=0, help="also write the records split over N files")
    args = parser.parse_args()
    info = build(args.repeat, args.shards)
    print(
        f"{info['path']}: {info['responses']} pages, {info['bytes'] / 1e6:.1f} MB gzipped, "
        f"{info['html_bytes'] / 1e6:.1f} MB of HTML, {info['truncated']} cut at 1 MiB; {info['by_source']}"
    )
    for path in info.get("shards", []):
        print(f"  shard {path}")


if __name__ == "__main__":
    main()
