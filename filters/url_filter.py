"""`url_filter`: drop pages whose URL is on FineWeb's block lists, before anything is extracted.

Lists (shipped in filters/assets/url_lists/, see NOTICE.md): the UT1-derived adult blocklist FineWeb used
(4.56 M domains, 19.6 k URLs; datatrove 0.10.1's `url_filterblacklistsv0_3_0.tar.gz`, byte-identical),
and its banned / soft-banned / banned-subword lists. Rules and order follow datatrove's URLFilter:
registered domain listed -> `domain`; full host listed -> `subdomain`; URL listed -> `url`; a banned word
among the URL's words -> `banned_word`; `soft_word_threshold` soft words -> `soft_banned_words`; a banned
subword inside the URL's letters and digits -> `banned_subword`.

Where we differ from datatrove (measured on 5.55 M URLs by bench/quality/parity_url.py, BENCHMARKS.md): UT1's URL list
holds URLs without a scheme and datatrove compares the full URL, so it never matches a crawled http(s) URL (we
also try the URL without its scheme: 26,580 of the 39,174 listed URLs with a scheme are dropped by us only); and
we lowercase hosts and URL words, which datatrove does not (an upper-cased listed host, or 186 of the 203 banned
words upper-cased, pass it). `datatrove_compatible: true` decides as datatrove does, its lists parsed as it
parses them (case kept): 100% the same decisions and reasons on that URL set.

Memory: the domains are kept as a sorted array of 64-bit hashes (36 MB, loaded once per worker in about
1.2 s) instead of a Python set of strings (about 1 GB).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import xxhash

from core.batch import with_drop_reasons
from core.contracts import Contract
from core.registry import param, register

LISTS = Path(__file__).parent / "assets" / "url_lists"
_NON_ALNUM = re.compile(r"[^a-zA-Z0-9]+")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)


@dataclass(frozen=True)
class UrlFilterConfig:
    soft_word_threshold: int = param(2, "soft-banned words in a URL that drop it (FineWeb/datatrove)", ge=1)
    blocklist_path: str = param(
        "", "tar.gz with `domains` and `urls` files; empty: the shipped UT1 list", is_file=True
    )
    extra_domains: tuple[str, ...] = param((), "more domains to block (exact registered domain or host)")
    use_word_lists: bool = param(True, "apply the banned / soft-banned / banned-subword URL word lists")
    datatrove_compatible: bool = param(
        False,
        "decide as datatrove 0.10.1's URLFilter: listed URLs must match the full URL, scheme included (so UT1's "
        "scheme-less entries never match a crawled URL), and hosts and URL words are compared case-sensitively "
        "(banned subwords stay case-insensitive, as in datatrove); default: scheme stripped, lowercased",
    )


URL_FILTER_CONTRACT = Contract(
    needs=("url",),
    drop_reasons=("domain", "subdomain", "url", "banned_word", "soft_banned_words", "banned_subword"),
)


@register("url_filter", UrlFilterConfig, contract=URL_FILTER_CONTRACT)
class UrlFilter:
    """Drop URLs on FineWeb's UT1-derived blocklist or containing banned words (datatrove URLFilter rules)."""

    def __init__(self, cfg: UrlFilterConfig):
        import tldextract

        self.cfg = cfg
        self.exact = cfg.datatrove_compatible  # compare case-sensitively, full URL only
        # An empty suffix_list_urls makes tldextract use its bundled public-suffix snapshot: no network.
        self.extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
        tarball = Path(cfg.blocklist_path) if cfg.blocklist_path else LISTS / _TARBALL
        domains, self.urls = _load_blocklist(tarball, as_datatrove=self.exact)
        extra = _hashes(d.encode() for d in _extra_domains(cfg.extra_domains, self.exact))
        self.domains = _sorted_unique(np.concatenate((domains, extra))) if len(extra) else domains
        self.banned = _word_list("banned_words.txt") if cfg.use_word_lists else frozenset()
        self.soft = _word_list("soft_banned_words.txt") if cfg.use_word_lists else frozenset()
        subwords = sorted(_word_list("banned_subwords.txt")) if cfg.use_word_lists else []
        self.subword = re.compile("|".join(map(re.escape, subwords))) if subwords else None

    def __call__(self, batch: pa.Table) -> pa.Table:
        reasons = [self.judge(url) if url else None for url in batch.column("url").to_pylist()]
        return with_drop_reasons(batch, reasons)

    def judge(self, url: str) -> str | None:
        parts = self.extract(url)
        if self._listed(parts.top_domain_under_public_suffix):
            return "url_filter.domain"
        if self._listed(parts.fqdn):
            return "url_filter.subdomain"
        if url in self.urls or (not self.exact and _SCHEME.sub("", url) in self.urls):
            return "url_filter.url"
        words = set(_NON_ALNUM.split(url if self.exact else url.lower()))
        if words & self.banned:
            return "url_filter.banned_word"
        if len(words & self.soft) >= self.cfg.soft_word_threshold:
            return "url_filter.soft_banned_words"
        if self.subword is not None and self.subword.search(_NON_ALNUM.sub("", url).lower()):
            return "url_filter.banned_subword"
        return None

    def _listed(self, host: str) -> bool:
        if not host and not self.exact:  # datatrove looks "" up too: listed only if the list has a blank line
            return False
        key = np.uint64(xxhash.xxh3_64_intdigest((host if self.exact else host.lower()).encode()))
        i = int(np.searchsorted(self.domains, key))
        return i < len(self.domains) and self.domains[i] == key


_TARBALL = "url_filterblacklistsv0_3_0.tar.gz"
CACHE_FORMAT = 1  # bump when what _parse_blocklist returns changes


def _load_blocklist(path: Path, as_datatrove: bool) -> tuple[np.ndarray, frozenset[str]]:
    """The parsed blocklist, from a per-user cache keyed by the tarball's sha256 (0.05 s instead of about 2 CPU-s
    of gunzip, split and 4.5 M hashes in every new worker: bench/perf/startup.py). Best effort: a cache that cannot be
    read is parsed again and rewritten, one that cannot be written is skipped; it holds what parsing gives."""
    if not path.is_file():
        raise FileNotFoundError(f"url_filter: blocklist not found: {path}")
    cache = _cache_path(path, as_datatrove)
    with contextlib.suppress(OSError, ValueError, KeyError):
        return _read_cache(cache)
    domains, urls = _parse_blocklist(path, as_datatrove)
    with contextlib.suppress(OSError):
        _write_cache(cache, domains, urls)
    return domains, urls


def _cache_path(path: Path, as_datatrove: bool) -> Path:
    """`$CCP_CACHE_DIR` or ~/.cache/cc-pretrain-pipeline, then url_filter/<tarball sha256>-<mode>-<format>.npz."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:32]
    root = Path(os.environ.get("CCP_CACHE_DIR") or Path.home() / ".cache" / "cc-pretrain-pipeline")
    mode = "datatrove" if as_datatrove else "default"
    return root / "url_filter" / f"{digest}-{mode}-v{CACHE_FORMAT}-xxhash{xxhash.VERSION}.npz"


def _read_cache(cache: Path) -> tuple[np.ndarray, frozenset[str]]:
    with np.load(cache, allow_pickle=False) as npz:
        domains, urls = npz["domains"], npz["urls"].tobytes().decode("utf-8")
    if domains.dtype != np.uint64 or domains.ndim != 1 or np.any(domains[1:] <= domains[:-1]):
        raise ValueError(f"{cache}: not a sorted array of unique 64-bit hashes")
    return domains, frozenset(json.loads(urls))


def _write_cache(cache: Path, domains: np.ndarray, urls: frozenset[str]) -> None:
    """Written to a temporary file, then renamed over the cache: a reader sees a whole file, old or new."""
    cache.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=cache.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, domains=domains, urls=np.frombuffer(json.dumps(sorted(urls)).encode("utf-8"), np.uint8))
        os.replace(tmp, cache)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _parse_blocklist(path: Path, as_datatrove: bool) -> tuple[np.ndarray, frozenset[str]]:
    with tarfile.open(path) as tar:
        if as_datatrove:  # datatrove's get_list(..., do_normalize=False): text lines, stripped, case kept
            domains = (d.encode() for d in _datatrove_entries(_text_lines(tar, "domains")))
            return _hashes(domains), frozenset(_datatrove_entries(_text_lines(tar, "urls")))
        domains = tar.extractfile("domains").read().lower().split()  # one C pass each: 4.5 M lines in ~1 s
        urls = tar.extractfile("urls").read().decode("utf-8", errors="replace").split()
    return _hashes(d for d in domains if not d.startswith(b"#")), frozenset(u for u in urls if u[0] != "#")


def _text_lines(tar: tarfile.TarFile, name: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(tar.extractfile(name), encoding="utf-8")


def _datatrove_entries(lines):
    """datatrove's `parse_list(..., do_normalize=False)`: `#` in column 0 skips a line, the rest is stripped."""
    return (line.strip() for line in lines if line[:1] != "#")


def _hashes(items) -> np.ndarray:
    return _sorted_unique(np.fromiter(map(xxhash.xxh3_64_intdigest, items), dtype=np.uint64))


def _extra_domains(domains: tuple[str, ...], as_datatrove: bool):
    if as_datatrove:
        return _datatrove_entries(domains)
    return (d.lower() for d in domains if not d.startswith("#"))


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    keys = np.sort(keys)  # np.unique takes 4 s here on 4.5 M keys; sort + mask 0.3 s
    return keys[np.concatenate(([True], keys[1:] != keys[:-1]))] if len(keys) else keys


def _word_list(name: str) -> frozenset[str]:
    lines = (LISTS / name).read_text().splitlines()
    return frozenset(_NON_ALNUM.sub("", w).lower() for w in lines if w and w[0] != "#")
