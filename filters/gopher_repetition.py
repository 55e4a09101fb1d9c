"""`gopher_repetition`: drop documents made of repeated lines, paragraphs or n-grams.

Thresholds from Gopher (Rae et al. 2021, arXiv 2112.11446) Table A1, as FineWeb applies them through
datatrove's GopherRepetitionFilter; the arithmetic follows datatrove's so decisions agree (quirks kept:
top n-grams are measured with spaces between words, duplicated n-grams without).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count

import numpy as np

from core.contracts import Contract, Signal
from core.registry import param, register
from core.text import LINE_BREAKS, Doc


@dataclass(frozen=True)
class GopherRepetitionConfig:
    max_dup_para_frac: float = param(0.30, "duplicate paragraphs / paragraphs (Gopher Table A1)", ge=0, le=1)
    max_dup_para_char_frac: float = param(0.20, "chars in duplicate paragraphs / chars (Table A1)", ge=0, le=1)
    max_dup_line_frac: float = param(0.30, "duplicate lines / lines (Table A1)", ge=0, le=1)
    max_dup_line_char_frac: float = param(0.20, "chars in duplicate lines / chars (Table A1)", ge=0, le=1)
    max_top_2gram_char_frac: float = param(0.20, "chars of the top word 2-gram / chars (Table A1)", ge=0, le=1)
    max_top_3gram_char_frac: float = param(0.18, "same for 3-grams (Table A1)", ge=0, le=1)
    max_top_4gram_char_frac: float = param(0.16, "same for 4-grams (Table A1)", ge=0, le=1)
    max_dup_5gram_char_frac: float = param(0.15, "chars in duplicated word 5-grams / chars (Table A1)", ge=0, le=1)
    max_dup_6gram_char_frac: float = param(0.14, "same for 6-grams (Table A1)", ge=0, le=1)
    max_dup_7gram_char_frac: float = param(0.13, "same for 7-grams (Table A1)", ge=0, le=1)
    max_dup_8gram_char_frac: float = param(0.12, "same for 8-grams (Table A1)", ge=0, le=1)
    max_dup_9gram_char_frac: float = param(0.11, "same for 9-grams (Table A1)", ge=0, le=1)
    max_dup_10gram_char_frac: float = param(0.10, "same for 10-grams (Table A1)", ge=0, le=1)

    def top_ngram_limits(self) -> tuple[tuple[int, float], ...]:
        return (
            (2, self.max_top_2gram_char_frac),
            (3, self.max_top_3gram_char_frac),
            (4, self.max_top_4gram_char_frac),
        )

    def dup_ngram_limits(self) -> tuple[tuple[int, float], ...]:
        return tuple((n, getattr(self, f"max_dup_{n}gram_char_frac")) for n in range(5, 11))


def _signal_values(doc: Doc) -> dict[str, float]:
    lines = LINE_BREAKS.split(doc.text)
    return {"dup_line_frac": find_duplicates(lines)[0] / len(lines)} if doc.text else {}


GOPHER_REPETITION_CONTRACT = Contract(
    needs=("text",),
    drop_reasons=(
        "empty",
        "dup_para_frac",
        "dup_para_char_frac",
        "dup_line_frac",
        "dup_line_char_frac",
        "top_2gram",
        "top_3gram",
        "top_4gram",
        *(f"dup_{n}gram" for n in range(5, 11)),
    ),
    signals=(Signal("dup_line_frac", "max_dup_line_frac"),),
    signal_values=_signal_values,
)


@register("gopher_repetition", GopherRepetitionConfig, kind="filter", contract=GOPHER_REPETITION_CONTRACT)
def gopher_repetition(doc: Doc, cfg: GopherRepetitionConfig) -> str | None:
    """Gopher repetition rules: duplicate lines/paragraphs and repeated word n-grams (Table A1)."""
    text = doc.text
    if not text:
        return "empty"
    reason = _duplicate_blocks(doc.paragraphs, len(text), cfg.max_dup_para_frac, cfg.max_dup_para_char_frac, "para")
    if reason:
        return reason
    lines = LINE_BREAKS.split(text)
    reason = _duplicate_blocks(lines, len(text), cfg.max_dup_line_frac, cfg.max_dup_line_char_frac, "line")
    if reason:
        return reason
    grams = NGrams(doc.words)
    for n, limit in cfg.top_ngram_limits():
        if len(grams.words) >= n and grams.top_chars(n) / len(text) > limit:
            return f"top_{n}gram"
    for n, limit in cfg.dup_ngram_limits():
        if grams.duplicated_chars(n) / len(text) > limit:
            return f"dup_{n}gram"
    return None


def _duplicate_blocks(blocks: list[str], n_chars: int, max_frac: float, max_char_frac: float, kind: str) -> str | None:
    n_dup, dup_chars = find_duplicates(blocks)
    if max_frac and n_dup / len(blocks) > max_frac:
        return f"dup_{kind}_frac"
    if max_char_frac and dup_chars / n_chars > max_char_frac:
        return f"dup_{kind}_char_frac"
    return None


def find_duplicates(items: list[str]) -> tuple[int, int]:
    """(number of items seen before, their total characters)."""
    seen: set[str] = set()
    n_dup = dup_chars = 0
    for item in items:
        if item in seen:
            n_dup += 1
            dup_chars += len(item)
        else:
            seen.add(item)
    return n_dup, dup_chars


class NGrams:
    """A document's word n-grams, counted with numpy instead of one Python string per n-gram (2.6x faster here).

    datatrove compares top n-grams as words joined by spaces: the same as comparing word tuples (words hold no
    spaces), which integer word ids do exactly. It compares duplicated n-grams as words run together, so
    ("ab", "c") repeats ("a", "bc"): a polynomial hash of the run-together characters finds the n-grams that may
    repeat, and only those are built as strings and compared, so the result stays exact.
    """

    _BASE = 0x100000001B3  # odd: invertible modulo 2**64, the modulus numpy's uint64 arithmetic wraps at

    def __init__(self, words: list[str]):
        self.words = words
        self.ends = np.zeros(len(words) + 1, np.int64)  # character offsets of the words run together
        np.cumsum(np.fromiter(map(len, words), np.int64, len(words)), out=self.ends[1:])
        word_ids: dict[str, int] = {}
        self._classes = {1: np.fromiter(map(word_ids.setdefault, words, count()), np.int64, len(words))}
        self._hashes: tuple[np.ndarray, np.ndarray] | None = None
        self._joined = ""

    def top_chars(self, n: int) -> int:
        """Characters of the most frequent n-gram (with its spaces) times its count; ties: the first seen wins."""
        first, counts = self._distinct(n)
        best = counts.max()
        start = int(first[counts == best].min())
        return int(self.ends[start + n] - self.ends[start] + n - 1) * int(best)

    def _distinct(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """First position and count of each distinct n-gram; keeps the n-grams' class ids to build (n+1)-grams."""
        if n - 1 not in self._classes:
            self._distinct(n - 1)
        m = len(self.words) - n + 1
        key = self._classes[n - 1][:m] * len(self.words) + self._classes[1][n - 1 :]  # < len(words)**2: no overflow
        _, first, self._classes[n], counts = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
        return first, counts

    def duplicated_chars(self, n: int) -> int:
        """Characters of n-grams seen before, scanning left to right and jumping n positions past each repeat
        (datatrove's find_all_duplicate, n-grams being words run together)."""
        m = len(self.words) - n + 1
        if m < 2:
            return 0
        prefix, inverse_powers = self._hashes or self._hash_tables()
        starts, stops = self.ends[:m], self.ends[n:]
        key = (prefix[stops] - prefix[starts]) * inverse_powers[starts]  # hash of characters starts..stops
        _, classes, counts = np.unique(key, return_inverse=True, return_counts=True)
        maybe = np.flatnonzero(counts[classes] > 1)  # the others occur once: never a repeat
        joined = self._joined
        grams = {i: joined[a:b] for i, a, b in zip(maybe.tolist(), starts[maybe].tolist(), stops[maybe].tolist())}
        return _scan(grams, n)

    def _hash_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """Prefix sums of c_t * B**t (mod 2**64) and B**-t: a substring's hash is a difference and one product."""
        self._joined = "".join(self.words)
        codes = np.frombuffer(self._joined.encode("utf-32-le"), np.uint32).astype(np.uint64)
        powers, inverse_powers = np.ones(len(codes) + 1, np.uint64), np.ones(len(codes) + 1, np.uint64)
        np.cumprod(np.full(len(codes), self._BASE, np.uint64), out=powers[1:])
        np.cumprod(np.full(len(codes), pow(self._BASE, -1, 2**64), np.uint64), out=inverse_powers[1:])
        prefix = np.zeros(len(codes) + 1, np.uint64)
        np.cumsum(codes * powers[:-1], out=prefix[1:])
        self._hashes = prefix, inverse_powers
        return self._hashes


def _scan(grams: dict[int, str], n: int) -> int:
    """datatrove's scan over the positions (ascending) whose n-gram may occur twice. A position whose n-gram is
    new is visited and added; one whose n-gram occurred before is a repeat if an earlier occurrence was visited
    (not jumped over), and the scan then jumps n positions on; otherwise it is added as new."""
    first: dict[str, int] = {}
    for i, gram in grams.items():
        first.setdefault(gram, i)
    repeated, position = 0, 0  # position: the next one the scan visits
    seen_later: set[str] = set()  # n-grams added at a later occurrence, all earlier ones having been jumped over
    jumped: set[int] = set()
    for i, gram in grams.items():
        if i < position or first[gram] == i:
            continue
        if gram in seen_later or first[gram] not in jumped:
            repeated += len(gram)
            position = i + n
            jumped.update(range(i + 1, i + n))
        else:
            seen_later.add(gram)
            position = i + 1
    return repeated
