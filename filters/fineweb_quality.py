"""`fineweb_quality`: FineWeb's own line rules (Penedo et al. 2024, FineWeb section 3.6; datatrove's
FineWebQualityFilter defaults): too few lines ending in punctuation, too many short lines, too many
characters in duplicated lines, too many newlines per word (lists)."""

from __future__ import annotations

from dataclasses import dataclass

from filters.gopher_repetition import find_duplicates
from filters.text import TERMINAL_PUNCTUATION, Doc
from pipeline.registry import param, register


@dataclass(frozen=True)
class FineWebQualityConfig:
    min_line_punct_frac: float = param(0.12, "lines ending in terminal punctuation, at least (FineWeb)", ge=0, le=1)
    max_short_line_frac: float = param(0.67, "lines of <= short_line_chars characters, at most (FineWeb)", ge=0, le=1)
    short_line_chars: int = param(30, "what a short line is, in characters (FineWeb)", ge=0)
    max_dup_line_char_frac: float = param(0.01, "chars in duplicated lines / chars, at most (FineWeb)", ge=0, le=1)
    max_newline_word_ratio: float = param(0.3, "newlines per word, at most: lists and menus (FineWeb)", ge=0)


_TERMINAL = tuple(TERMINAL_PUNCTUATION)


@register("fineweb_quality", FineWebQualityConfig, kind="filter")
def fineweb_quality(doc: Doc, cfg: FineWebQualityConfig) -> str | None:
    """FineWeb's line rules: line punctuation, short lines, duplicated-line characters, list ratio."""
    lines = doc.nonempty_lines
    if not lines:
        return "empty"
    if sum(line.endswith(_TERMINAL) for line in lines) / len(lines) < cfg.min_line_punct_frac:
        return "line_punct"
    if sum(len(line) <= cfg.short_line_chars for line in lines) / len(lines) > cfg.max_short_line_frac:
        return "short_lines"
    n_chars = len(doc.text) - doc.text.count("\n")
    if n_chars and find_duplicates(lines)[1] / n_chars > cfg.max_dup_line_char_frac:
        return "dup_line_chars"
    if doc.words and doc.text.count("\n") / len(doc.words) > cfg.max_newline_word_ratio:
        return "list_ratio"
    return None
