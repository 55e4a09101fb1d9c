"""The fast MinHash path the `minhash_dedup` stage uses: byte-identical to dedup.minhash's reference
`normalize` / `shingle_hashes` / `signature` (tests/test_dedup_minhash.py checks it on real pages and edge
cases), 2.4x faster (bench/perf/dedup_speed.py: 6,300 vs 2,700 docs per CPU-second; datasketch 1,700).

Where dedup.minhash spends its time (cProfile in dedup_speed.py), and what is done here instead:
  normalize   the Mn filter `"".join(c for c in NFD(text) if category(c) != "Mn")` is a Python loop per
              character, and `str.translate` with a dict of ~100 punctuation marks costs ~40 ns a character.
              Here both are table look-ups over the text's UTF-32 code points in numpy (one bool table of
              0x110000 entries each, built from the same PUNCTUATION string and from unicodedata.category, so
              the same Unicode version as the original), and a pure-ASCII text skips NFD and Mn entirely
              (NFD leaves ASCII unchanged and ASCII has no Mn character).
  word hashes `np.fromiter(xxh3(w.encode()) for w in words)` -> `map(xxh3, map(str.encode, words))`: the
              same calls, iterated in C.
  permutations `((x[:, None] * a + b) >> 32).min(0)` allocates three (n, 112) uint64 temporaries per
              document (each over glibc's mmap threshold: page faults every time). Here one preallocated
              buffer is reused, multiplied and added in place, and the shift is applied after the min: x >> 32
              is monotone, so min(v >> 32) == min(v) >> 32 exactly.
Order of the steps and every constant are those of dedup.minhash, which is imported, not copied.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import xxhash

from core.text import PUNCTUATION
from dedup.minhash import _NGRAM_MIX, _NUMBERS, MinHashParams, _mix64, permutations

_SHIFT = np.uint64(32)


def _table(codepoints) -> np.ndarray:
    table = np.zeros(0x110000, dtype=bool)
    table[list(codepoints)] = True
    return table


_IS_PUNCT = _table(map(ord, set(PUNCTUATION)))
_IS_MN = _table(c for c in range(0x110000) if unicodedata.category(chr(c)) == "Mn")
_ASCII_PUNCT = bytes(32 if _IS_PUNCT[i] else i for i in range(256))  # bytes.translate table


def _codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _from_codepoints(cp: np.ndarray) -> str:
    return cp.tobytes().decode("utf-32-le", "surrogatepass")


def fast_normalize(text: str) -> str:
    """Same output as dedup.minhash.normalize (lowercase, numbers -> 0, punctuation -> space, whitespace
    collapsed, NFD without combining marks), with the character loops done by table look-ups."""
    text = _NUMBERS.sub("0", text.lower())
    if text.isascii():
        return " ".join(text.encode("ascii").translate(_ASCII_PUNCT).decode("ascii").split())
    return _normalize_unicode(text)


def _normalize_unicode(text: str) -> str:
    """normalize's steps after the number substitution, for a text that is not pure ASCII."""
    cp = _codepoints(text)
    punct = _IS_PUNCT[cp]
    if punct.any():
        text = _from_codepoints(np.where(punct, np.uint32(32), cp))
    text = unicodedata.normalize("NFD", " ".join(text.split()))
    if not text.isascii():
        cp = _codepoints(text)
        marks = _IS_MN[cp]
        if marks.any():
            text = _from_codepoints(cp[~marks])
    return text.strip()


def fast_words(text: str) -> list[bytes]:
    """`[w.encode() for w in normalize(text).split()]`. An ASCII text is split as bytes at once: bytes.split()
    splits on ASCII whitespace, str.split()'s set within ASCII but for x1c-x1f, which are punctuation here."""
    text = _NUMBERS.sub("0", text.lower())
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_PUNCT).split()
    return list(map(str.encode, _normalize_unicode(text).split()))


def fast_shingle_hashes(text: str, n_grams: int) -> np.ndarray:
    """dedup.minhash.shingle_hashes with fast_words, the word hashes iterated in C, the n-gram mix in place."""
    words = fast_words(text)
    if len(words) < n_grams:
        return np.empty(0, dtype=np.uint64)
    hashes = np.fromiter(map(xxhash.xxh3_64_intdigest, words), dtype=np.uint64, count=len(words))
    count = len(hashes) - n_grams + 1
    combined = hashes[:count].copy()
    for k in range(1, n_grams):
        combined *= _NGRAM_MIX
        combined += hashes[k : count + k]
    return _mix64(combined)


class MinHasher:
    """signature(text) / signatures(texts), equal byte for byte to dedup.minhash.signature with the same params."""

    def __init__(self, params: MinHashParams):
        self.params = params
        self.a, self.b = permutations(params)
        self._buf = np.empty((1024, params.num_perm), dtype=np.uint64)

    def _min_hashes(self, shingles: np.ndarray) -> np.ndarray:
        n = shingles.size
        if n > self._buf.shape[0]:
            self._buf = np.empty((max(n, 2 * self._buf.shape[0]), self.params.num_perm), dtype=np.uint64)
        values = self._buf[:n]
        np.multiply(shingles[:, None], self.a[None, :], out=values)
        values += self.b
        return values.min(axis=0)

    def signature(self, text: str) -> np.ndarray | None:
        shingles = fast_shingle_hashes(text, self.params.n_grams)
        if shingles.size == 0:
            return None
        return (self._min_hashes(shingles) >> _SHIFT).astype(np.uint32)

    def signatures(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(rows, matrix): the indices of the texts that have a signature, and their (n, num_perm) uint32
        signatures, as the minhash_dedup `signatures` task stacks them."""
        rows, out = [], np.empty((len(texts), self.params.num_perm), dtype=np.uint64)
        for i, text in enumerate(texts):
            shingles = fast_shingle_hashes(text or "", self.params.n_grams)
            if shingles.size:
                out[len(rows)] = self._min_hashes(shingles)
                rows.append(i)
        return np.array(rows, dtype=np.int64), (out[: len(rows)] >> _SHIFT).astype(np.uint32)
