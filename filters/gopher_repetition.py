"""`gopher_repetition`: drop documents made of repeated lines, paragraphs or n-grams.

Thresholds from Gopher (Rae et al. 2021, arXiv 2112.11446) Table A1, as FineWeb applies them through
datatrove's GopherRepetitionFilter; the arithmetic follows datatrove's so decisions agree (quirks kept:
top n-grams are measured with spaces between words, duplicated n-grams without).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from filters.text import LINE_BREAKS, Doc
from pipeline.registry import param, register


@dataclass(frozen=True)
class GopherRepetitionConfig:
    max_dup_para_frac: float = param(0.30, "duplicate paragraphs / paragraphs (Gopher Table A1)", ge=0, le=1)
    max_dup_para_char_frac: float = param(0.20, "chars in duplicate paragraphs / chars (Table A1)", ge=0, le=1)
    max_dup_line_frac: float = param(0.30, "duplicate lines / lines (Table A1)", ge=0, le=1)
    max_dup_line_char_frac: float = param(0.20, "chars in duplicate lines / chars (Table A1)", ge=0, le=1)
    max_top_2gram_char_frac: float = param(
        0.20, "chars of the top word 2-gram / chars (Table A1)", ge=0, le=1
    )
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


@register("gopher_repetition", GopherRepetitionConfig, kind="filter")
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
    words = doc.words
    for n, limit in cfg.top_ngram_limits():
        if len(words) >= n and top_ngram_chars(words, n) / len(text) > limit:
            return f"top_{n}gram"
    for n, limit in cfg.dup_ngram_limits():
        if duplicated_ngram_chars(words, n) / len(text) > limit:
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


def top_ngram_chars(words: list[str], n: int) -> int:
    """Characters covered by the most frequent n-gram (with its spaces), times its count."""
    counts = Counter(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
    gram, count = counts.most_common(1)[0]
    return len(gram) * count


def duplicated_ngram_chars(words: list[str], n: int) -> int:
    """Characters of n-grams seen before, scanning left to right and skipping past each repeat."""
    seen: set[str] = set()
    repeated = i = 0
    while i < len(words) - n + 1:
        gram = "".join(words[i : i + n])
        if gram in seen:
            repeated += len(gram)
            i += n
        else:
            seen.add(gram)
            i += 1
    return repeated
