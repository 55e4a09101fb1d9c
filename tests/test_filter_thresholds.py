"""Every threshold of the heuristic filters at its boundary: a document whose measure equals the threshold is kept,
and the same document is dropped, by that rule, once the threshold moves past it by one step.

test_filters.py shows which rule fires on which text; this pins the comparisons themselves (`<` or `<=`, which
config field a rule reads), the way datatrove writes them: a measure equal to its threshold passes. The measures
are binary fractions (1/4, 3/4...) so that equality is exact in floating point; the other rules of the filter are
opened wide where the document would also trip them.
"""

from __future__ import annotations

import dataclasses

import pytest

from core.text import Doc
from filters.c4_quality import C4QualityConfig, c4_quality, count_sentences
from filters.fineweb_quality import FineWebQualityConfig, fineweb_quality
from filters.gopher_quality import GopherQualityConfig, gopher_quality
from filters.gopher_repetition import GopherRepetitionConfig, gopher_repetition
from tests.test_filters import words

# 64 words of four letters, two of them stop words: 64 words, mean length 4, 2 stop words, every word alphabetic.
FOUR_LETTER = words("w", 62) + ["with", "have"]
GOPHER_TEXT = " ".join(FOUR_LETTER)
QUARTER_NUMBERS = " ".join(["1234" if i % 4 == 0 else w for i, w in enumerate(FOUR_LETTER)])  # 48 of 64 alphabetic
# Eight lines of ten words; `mark(i)` decides how line i starts or ends.
LINES = [" ".join(words(f"l{i}x", 8) + ["with", "have"]) for i in range(8)]  # stop words: gopher_quality


def lines(end=lambda i: ".", start=lambda i: "") -> str:
    return "\n".join(start(i) + line + end(i) for i, line in enumerate(LINES))


WIDE_REPETITION = {f.name: 1.0 for f in dataclasses.fields(GopherRepetitionConfig)}
WIDE_FINEWEB = dict(max_dup_line_char_frac=1.0, max_newline_word_ratio=1.0)

# (filter, config class, rule, field, text, threshold the text sits on, one step past it, fields opened wide)
CASES = [
    (gopher_quality, GopherQualityConfig, "few_words", "min_words", GOPHER_TEXT, 64, 65, {}),
    (gopher_quality, GopherQualityConfig, "many_words", "max_words", GOPHER_TEXT, 64, 63, {}),
    (gopher_quality, GopherQualityConfig, "short_words", "min_mean_word_length", GOPHER_TEXT, 4.0, 4.25, {}),
    (gopher_quality, GopherQualityConfig, "long_words", "max_mean_word_length", GOPHER_TEXT, 4.0, 3.75, {}),
    (gopher_quality, GopherQualityConfig, "few_stop_words", "min_stop_words", GOPHER_TEXT, 2, 3, {}),
    (
        gopher_quality,
        GopherQualityConfig,
        "few_alpha_words",
        "min_alpha_words_frac",
        QUARTER_NUMBERS,
        0.75,
        0.8125,
        {},
    ),
    (
        gopher_quality,
        GopherQualityConfig,
        "bullet_lines",
        "max_bullet_lines_frac",
        lines(start=lambda i: "- " if i < 2 else ""),
        0.25,
        0.125,
        {},
    ),
    (
        gopher_quality,
        GopherQualityConfig,
        "ellipsis_lines",
        "max_ellipsis_lines_frac",
        lines(end=lambda i: "..." if i < 2 else "."),
        0.25,
        0.125,
        {"max_symbol_word_ratio": 1.0},
    ),
    (
        fineweb_quality,
        FineWebQualityConfig,
        "line_punct",
        "min_line_punct_frac",
        lines(end=lambda i: "." if i < 2 else ""),
        0.25,
        0.375,
        WIDE_FINEWEB,
    ),
    (
        gopher_repetition,
        GopherRepetitionConfig,
        "dup_line_frac",
        "max_dup_line_frac",
        "\n".join(LINES[:1] * 3 + LINES[1:6]),
        0.25,
        0.125,
        WIDE_REPETITION,
    ),
    (
        gopher_repetition,
        GopherRepetitionConfig,
        "dup_para_frac",
        "max_dup_para_frac",
        "\n\n".join(LINES[:1] * 3 + LINES[1:6]),
        0.25,
        0.125,
        WIDE_REPETITION,
    ),
]


@pytest.mark.parametrize("fn, cls, rule, field, text, at, past, wide", CASES, ids=[c[2] for c in CASES])
def test_a_measure_on_its_threshold_passes_and_one_step_past_it_is_dropped(fn, cls, rule, field, text, at, past, wide):
    base = {**wide}
    base.pop(field, None)
    assert fn(Doc(text), cls(**base, **{field: at})) is None
    assert fn(Doc(text), cls(**base, **{field: past})) == rule


def test_fineweb_short_lines_at_both_of_its_thresholds():
    """Two of eight lines are short (<= short_line_chars characters): 1/4 of the lines."""
    short = ["A short line here.", "Another short one."]  # 18 characters each
    text = "\n".join(short + [line + "." for line in LINES[2:]])
    cfg = dict(WIDE_FINEWEB, short_line_chars=18)
    assert fineweb_quality(Doc(text), FineWebQualityConfig(**cfg, max_short_line_frac=0.25)) is None
    assert fineweb_quality(Doc(text), FineWebQualityConfig(**cfg, max_short_line_frac=0.125)) == "short_lines"
    # the length threshold: a line of exactly short_line_chars characters is short, one more is not
    assert fineweb_quality(Doc(text), FineWebQualityConfig(**cfg, max_short_line_frac=0.0)) == "short_lines"
    assert (
        fineweb_quality(Doc(text), FineWebQualityConfig(**{**cfg, "short_line_chars": 17}, max_short_line_frac=0.0))
        is None
    )


def test_c4_min_sentences_at_its_threshold():
    text = " ".join(f"{' '.join(words(f's{i}x', 6))}." for i in range(5)).capitalize()
    n = count_sentences(text)
    assert n == 5
    assert c4_quality(Doc(text), C4QualityConfig(min_sentences=n)) is None
    assert c4_quality(Doc(text), C4QualityConfig(min_sentences=n + 1)) == "few_sentences"
