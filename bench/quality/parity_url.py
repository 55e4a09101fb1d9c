"""Decision parity of `url_filter` with datatrove 0.10.1's URLFilter, URL by URL, for our default and for
`datatrove_compatible: true`.

    .venv/bin/python -m bench.quality.parity_url           # creates bench/out/venv-datatrove if missing (pip)
    .venv/bin/python -m bench.quality.parity_url --reuse   # datatrove's decisions from the last run, same URLs

The URL set (bench/out/parity_url_urls.txt), built from the lists as shipped (filters/assets/url_lists, byte-identical
to datatrove 0.10.1's assets); every `--every`-th (default 10th) domain for the derived host categories:
  listed URL            every entry of UT1's `urls` list (they have no scheme), once with http:// and once https://
  listed domain         every entry of UT1's `domains` list as `scheme://domain/`, http and https alternating
  subdomain of listed   `https://www.<domain>/`
  banned word ...       `https://<word>.example.com/` (host), `https://example.com/<word>/index.html` (path);
                        soft-banned words two at a time in a path; banned subwords, spaces as `-`, in a path
  upper-case ...        the same URLs with the host, or the word, upper-cased
  real crawl URLs       WARC-Target-URI of every response/conversion record in ../shared/data/warc, as our reader
                        gives it (distinct URLs; skipped, saying so, without ../shared)
Datatrove's side runs in its own venv (bench.common.DATATROVE, plus tldextract at our version and
pyahocorasick, which URLFilter needs; this module with `--datatrove-side`, from the repository root) as
`URLFilter().filter(Document(text="", id=..., metadata={"url": url}))`,
integrated lists. One change: its TLDExtract uses the bundled public-suffix snapshot, as ours does
(`suffix_list_urls=()`); left alone it downloads the live list, and the suffix list is not what is compared here.
Results: bench/out/parity_url.json (counts per category, every disagreement of the compatible mode, and the
default's disagreements by (ours, datatrove) reason with examples); `table` renders BENCHMARKS.md's table from it.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import re
import subprocess
import tarfile
import time
from importlib.metadata import version
from pathlib import Path

from bench.common import DATATROVE, OUT, REPO, SHARED, markdown_table

URLS_PATH = OUT / "parity_url_urls.txt"
DT_DECISIONS = OUT / "parity_url_datatrove.txt"
LISTS = REPO / "filters" / "assets" / "url_lists"
WARC_DIR = SHARED / "warc"
# datatrove's reason for each of ours
DT_REASONS = {
    "domain": "domain",
    "subdomain": "subdomain",
    "url": "url",
    "banned_word": "hard_blacklisted",
    "soft_banned_words": "soft_blacklisted",
    "banned_subword": "blacklisted_subword",
}
KEEP = "keep"


# ---------------------------------------------------------------- datatrove side (runs in datatrove's venv)
def datatrove_side(urls_path: str, out_path: str) -> None:
    from datatrove.data import Document
    from datatrove.pipeline.filters import URLFilter
    from tldextract import TLDExtract

    step = URLFilter()
    step.tldextractor = TLDExtract(suffix_list_urls=(), cache_dir=None)  # bundled snapshot, as ours
    step.download_data()
    digest = hashlib.sha256(Path(urls_path).read_bytes()).hexdigest()
    tmp_path = Path(out_path).with_suffix(".tmp")
    with open(urls_path, encoding="utf-8", newline="\n") as urls, open(tmp_path, "w", encoding="utf-8") as out:
        out.write(digest + "\n")
        for i, line in enumerate(urls):
            result = step.filter(Document(text="", id=str(i), metadata={"url": line[:-1]}))
            out.write((KEEP if result is True else result[1]) + "\n")
    tmp_path.rename(out_path)


# ---------------------------------------------------------------- the URL set
def ut1_lists() -> tuple[list[str], list[str]]:
    """UT1's domains and URLs: one entry a line, `#` lines skipped (both filters read the shipped lists so)."""
    with tarfile.open(LISTS / "url_filterblacklistsv0_3_0.tar.gz") as tar:
        domains, urls = (tar.extractfile(name).read().decode().splitlines() for name in ("domains", "urls"))
    return [d.strip() for d in domains if d[:1] != "#"], [u.strip() for u in urls if u[:1] != "#"]


def words(name: str) -> list[str]:
    lines = (LISTS / name).read_text().splitlines()
    return [re.sub(r"[^a-zA-Z0-9]+", "-", w).strip("-") for w in lines if w and w[0] != "#"]


def upper_host(url: str) -> str:
    scheme, _, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme}://{host.upper()}{slash}{path}"


def word_urls(upper: bool) -> dict[str, list[str]]:
    case = str.upper if upper else str
    banned, soft, sub = (
        list(map(case, words(f"{n}.txt"))) for n in ("banned_words", "soft_banned_words", "banned_subwords")
    )
    return {
        "banned word in host": [f"https://{w}.example.com/" for w in banned],
        "banned word in path": [f"https://example.com/{w}/index.html" for w in banned],
        "2 soft-banned words": [f"https://example.com/{a}-{b}.html" for a, b in zip(soft[::2], soft[1::2])],
        "banned subword": [f"https://example.com/free-{w}.html" for w in sub],
    }


def real_urls() -> list[str]:
    from readers.warc import ReadConfig, UnsupportedInput, WarcReader

    reader, found = WarcReader(ReadConfig()), {}
    for i, path in enumerate(sorted(p for p in WARC_DIR.rglob("*") if p.is_file() and p.suffix != ".md")):
        try:
            found.update((row["url"], None) for row in reader(str(path), i) if row["url"])
        except UnsupportedInput:
            continue
    return list(found)


def url_set(every: int) -> dict[str, list[str]]:
    domains, listed = ut1_lists()
    schemes = ("http://", "https://")
    categories = {
        "listed URL": [s + u for u in listed for s in schemes],
        "listed domain": [f"{schemes[i % 2]}{d}/" for i, d in enumerate(domains)],
        "subdomain of listed domain": [f"https://www.{d}/" for d in domains[::every]],
        **word_urls(upper=False),
        "upper-case host: listed URL": [upper_host(s + u) for u in listed for s in schemes],
        "upper-case host: listed domain": [f"http://{d.upper()}/" for d in domains[::every]],
        **{f"upper-case {k}": v for k, v in word_urls(upper=True).items()},
    }
    if WARC_DIR.is_dir():
        categories["real crawl URLs"] = real_urls()
    else:
        print(f"SKIP real crawl URLs: {WARC_DIR} is absent (../shared/data, or CC_SHARED_DATA)")
    return categories


def write_urls(categories: dict[str, list[str]]) -> str:
    """One URL a line; returns the file's sha256 (datatrove's decisions are tied to it)."""
    text = "".join(u + "\n" for urls in categories.values() for u in urls)
    assert "\r" not in text and text.count("\n") == sum(map(len, categories.values())), "a URL with a line break"
    URLS_PATH.write_text(text, encoding="utf-8", newline="\n")
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------- the two sides
def ensure_venv() -> Path:
    """The datatrove venv, plus what URLFilter imports; tldextract pinned to ours (same snapshot)."""
    python = DATATROVE.ensure()
    wanted = [f"tldextract=={version('tldextract')}", "pyahocorasick==2.3.1"]
    probe = "import ahocorasick, importlib.metadata as m; print('tldextract==' + m.version('tldextract'))"
    found = subprocess.run([str(python), "-c", probe], capture_output=True, text=True)
    if found.returncode != 0 or found.stdout.strip() != wanted[0]:
        print(f"installing {' '.join(wanted)} into {DATATROVE.path} ...", flush=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *wanted], check=True)
    return python


def run_datatrove(digest: str, reuse: bool) -> list[str]:
    if reuse and DT_DECISIONS.exists() and DT_DECISIONS.open().readline().strip() == digest:
        print(f"datatrove side: reusing {DT_DECISIONS}")
    else:
        python, started = ensure_venv(), time.perf_counter()
        env = {**os.environ, "HF_HOME": str(OUT / "hf-home")}  # where URLFilter extracts its lists
        cmd = [str(python), "-m", __spec__.name, "--datatrove-side", str(URLS_PATH), str(DT_DECISIONS)]
        subprocess.run(cmd, check=True, env=env, cwd=REPO)
        print(f"datatrove side: {time.perf_counter() - started:.0f} s", flush=True)
    lines = DT_DECISIONS.read_text(encoding="utf-8").splitlines()
    assert lines[0] == digest, f"{DT_DECISIONS} is for another URL set"
    return [None if d == KEEP else d for d in lines[1:]]


def run_ours(urls: list[str], compatible: bool) -> list[str | None]:
    from filters.url_filter import UrlFilter, UrlFilterConfig

    started = time.perf_counter()
    judge = UrlFilter(UrlFilterConfig(datatrove_compatible=compatible)).judge
    reasons = [r and r.removeprefix("url_filter.") for r in map(judge, urls)]
    print(f"our side (datatrove_compatible={compatible}): {time.perf_counter() - started:.0f} s", flush=True)
    return reasons


# ---------------------------------------------------------------- comparison
def compare(urls: list[str], ours: list, theirs: list, examples: int) -> dict:
    out = {"ours_drop": sum(r is not None for r in ours), "agree": 0, "same_reason": 0}
    pairs: collections.Counter = collections.Counter()
    shown: dict = collections.defaultdict(list)
    for url, mine, dt in zip(urls, ours, theirs):
        same = (mine is None) == (dt is None)
        out["agree"] += same
        out["same_reason"] += same and (mine is None or DT_REASONS[mine] == dt)
        if not same:
            pair = (mine or KEEP, dt or KEEP)
            pairs[pair] += 1
            if len(shown[pair]) < examples:
                shown[pair].append(url)
    out["disagreements"] = [
        {"ours": a, "datatrove": b, "count": n, "examples": shown[(a, b)]} for (a, b), n in pairs.most_common()
    ]
    return out


def summarize(categories: dict[str, list[str]], ours: dict, theirs: list) -> dict:
    result, start = {}, 0
    for name, urls in categories.items():
        end = start + len(urls)
        dt = theirs[start:end]
        row = {"urls": len(urls), "datatrove_drop": sum(r is not None for r in dt)}
        row["default"] = compare(urls, ours[False][start:end], dt, examples=3)
        row["compatible"] = compare(urls, ours[True][start:end], dt, examples=1000)
        result[name], start = row, end
    return result


def table(results: dict) -> str:
    """Decisions per URL category (BENCHMARKS.md "url_filter: parity"), from bench/out/parity_url.json."""
    rows = []
    for name, r in results["categories"].items():
        d, c, n = r["default"], r["compatible"], r["urls"]
        rows.append([name, f"{n:,}", f"{r['datatrove_drop']:,}", f"{d['ours_drop']:,}", pct(d["agree"], n)])
        rows[-1] += [f"{c['ours_drop']:,}", pct(c["agree"], n), pct(c["same_reason"], n)]
    header = ["URLs", "n", "datatrove drops", "ours drops", "agree", "compatible drops", "agree", "same reason"]
    return markdown_table(header, rows, align="l" + "r" * 7)


def print_table(result: dict) -> None:
    print("\n" + table({"categories": result}))
    for mode in ("default", "compatible"):
        print(f"\n{mode}: disagreements (ours -> datatrove: count, example)")
        for name, r in result.items():
            for d in r[mode]["disagreements"]:
                print(f"  {name}: {d['ours']} -> {d['datatrove']}: {d['count']:,}, e.g. {d['examples'][0]}")


def pct(n: int, total: int) -> str:
    return f"{n:,} ({n / total:.2%})" if total else "0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--every", type=int, default=10, help="every N-th domain for the derived host categories")
    parser.add_argument("--reuse", action="store_true", help="reuse datatrove's decisions for the same URL set")
    parser.add_argument("--datatrove-side", nargs=2, metavar=("URLS", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.datatrove_side:
        return datatrove_side(*args.datatrove_side)
    OUT.mkdir(parents=True, exist_ok=True)
    categories = url_set(args.every)
    digest = write_urls(categories)
    print(f"{sum(map(len, categories.values())):,} URLs in {len(categories)} categories: {URLS_PATH}", flush=True)
    theirs = run_datatrove(digest, args.reuse)
    urls = [u for v in categories.values() for u in v]
    ours = {mode: run_ours(urls, compatible=mode) for mode in (False, True)}
    datatrove = next(r for r in DATATROVE.requirements if r.startswith("datatrove=="))
    tools = {"datatrove": datatrove, "tldextract": version("tldextract"), "every": args.every}
    result = {**tools, "categories": summarize(categories, ours, theirs)}
    (OUT / "parity_url.json").write_text(json.dumps(result, indent=1, ensure_ascii=False))
    print_table(result["categories"])
    print(f"\nwritten: {OUT / 'parity_url.json'}")


if __name__ == "__main__":
    main()
