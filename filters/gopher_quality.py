"""`gopher_quality`: drop documents that do not look like prose (Gopher's quality rules).

Thresholds from Gopher (arXiv 2112.11446, section A.1.1) as FineWeb applies them (datatrove's
GopherQualityFilter defaults); the arithmetic follows datatrove's so decisions agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.contracts import Contract, Signal
from core.registry import param, register
from core.text import Doc

# Gopher's stop words (arXiv 2112.11446 A.1.1): a document needs at least two of them.
STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")


@dataclass(frozen=True)
class GopherQualityConfig:
    min_words: int = param(50, "non-symbol words, at least (Gopher)", ge=0)
    max_words: int = param(100_000, "non-symbol words, at most (Gopher)", ge=0)
    min_mean_word_length: float = param(3.0, "characters per non-symbol word, at least (Gopher)", ge=0)
    max_mean_word_length: float = param(10.0, "characters per non-symbol word, at most (Gopher)", ge=0)
    max_symbol_word_ratio: float = param(0.1, "'#' and ellipses per word, at most (Gopher)", ge=0)
    max_bullet_lines_frac: float = param(0.9, "lines starting with a bullet, at most (Gopher)", ge=0, le=1)
    max_ellipsis_lines_frac: float = param(0.3, "lines ending with an ellipsis, at most (Gopher)", ge=0, le=1)
    min_alpha_words_frac: float = param(0.8, "words with an alphabetic character, at least (Gopher)", ge=0, le=1)
    min_stop_words: int = param(2, "distinct stop words present, at least (Gopher)", ge=0)
    stop_words: tuple[str, ...] = param(STOP_WORDS, "the stop word list (Gopher's English list)")


def _signal_values(doc: Doc) -> dict[str, float]:
    words = doc.words
    return {"alpha_words_frac": _alpha_words(words) / len(words)} if words else {}


GOPHER_QUALITY_CONTRACT = Contract(
    needs=("text",),
    drop_reasons=(
        "few_words",
        "many_words",
        "short_words",
        "long_words",
        "hash_ratio",
        "ellipsis_ratio",
        "bullet_lines",
        "ellipsis_lines",
        "few_alpha_words",
        "few_stop_words",
    ),
    signals=(Signal("alpha_words_frac", "min_alpha_words_frac"),),
    signal_values=_signal_values,
)


@register("gopher_quality", GopherQualityConfig, kind="filter", contract=GOPHER_QUALITY_CONTRACT)
def gopher_quality(doc: Doc, cfg: GopherQualityConfig) -> str | None:
    """Gopher quality rules: length, word length, symbols, bullets, ellipses, alphabetic words, stop words."""
    words, content = doc.words, doc.non_symbol_words
    if cfg.min_words and len(content) < cfg.min_words:
        return "few_words"
    if cfg.max_words and len(content) > cfg.max_words:
        return "many_words"
    if not words:
        return None
    reason = _word_lengths(content, cfg) or _symbols(doc.text, len(words), cfg) or _line_shapes(doc.lines, cfg)
    if reason:
        return reason
    if cfg.min_alpha_words_frac and _alpha_words(words) / len(words) < cfg.min_alpha_words_frac:
        return "few_alpha_words"
    if cfg.min_stop_words and len(doc.word_set.intersection(cfg.stop_words)) < cfg.min_stop_words:
        return "few_stop_words"
    return None


def _word_lengths(content: list[str], cfg: GopherQualityConfig) -> str | None:
    if not content:
        return None
    mean = sum(map(len, content)) / len(content)
    if cfg.min_mean_word_length and mean < cfg.min_mean_word_length:
        return "short_words"
    if cfg.max_mean_word_length and mean > cfg.max_mean_word_length:
        return "long_words"
    return None


def _symbols(text: str, n_words: int, cfg: GopherQualityConfig) -> str | None:
    if cfg.max_symbol_word_ratio and text.count("#") / n_words > cfg.max_symbol_word_ratio:
        return "hash_ratio"
    if cfg.max_symbol_word_ratio and (text.count("...") + text.count("…")) / n_words > cfg.max_symbol_word_ratio:
        return "ellipsis_ratio"
    return None


def _line_shapes(lines: list[str], cfg: GopherQualityConfig) -> str | None:
    if not lines:
        return None
    bullets = sum(s.lstrip().startswith(("•", "-")) for s in lines)
    if cfg.max_bullet_lines_frac and bullets / len(lines) > cfg.max_bullet_lines_frac:
        return "bullet_lines"
    ellipses = sum(s.rstrip().endswith(("...", "…")) for s in lines)
    if cfg.max_ellipsis_lines_frac and ellipses / len(lines) > cfg.max_ellipsis_lines_frac:
        return "ellipsis_lines"
    return None


def _alpha_words(words: list[str]) -> int:
    """Words with at least one alphabetic character (most are all letters: str.isalpha answers in C)."""
    return sum(1 for w in words if w.isalpha() or any(c.isalpha() for c in w))
