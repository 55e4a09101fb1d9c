"""filters/text_normalizer.py gives exactly what CCNet's cc_net/text_normalizer.py `normalize` gives.

The oracle below is a plain transcription of CCNet's steps (strip, lower, strip_accents, DIGIT_RE,
replace_unicode_punct, remove_non_printing_char), one Python pass each, as CCNet runs them; ours is one translate
table after NFD.
"""

from __future__ import annotations

import re
import sys
import unicodedata

import pytest

from filters.text_normalizer import UNICODE_PUNCT, normalize

CONTROL_RE = re.compile("[" + "".join(map(chr, [*range(0, 32), *range(127, 160)])) + "]")


def ccnet_normalize(line: str) -> str:
    line = line.strip()
    if not line:
        return line
    line = line.lower()
    nfd = unicodedata.normalize("NFD", line)
    line = "".join(c for c in nfd if unicodedata.category(c) != "Mn")
    line = re.sub(r"\d", "0", line)
    line = "".join(UNICODE_PUNCT.get(c, c) for c in line)
    return CONTROL_RE.sub("", line)


def test_ccnet_own_cases():
    # cc_net tests/test_normalizer.py: test_numbers
    assert normalize("０２３４５６７８９ | 0123456789") == "000000000 | 0000000000"
    # every punctuation mark of the table, as replace_unicode_punct maps it (fullwidth １ is a digit first)
    weird = "，。、„”“«»」「《》´∶：？！（）；–—．～’…━〈〉【】％"
    assert normalize(weird) == ',.,"""""""""\'::?!();- - . ~\'...-<>[]%'
    assert normalize("１") == "0"  # in CCNet's punctuation table too, but digits are replaced first


def test_case_accents_digits_controls():
    assert normalize("  Héllo Wörld 2024!\t") == "hello world 0000!"
    assert normalize("Straße — naïve “quotes” …") == 'straße  -  naive "quotes" ...'  # — is " - " (CCNet)
    assert normalize("한국어") == ccnet_normalize("한국어")  # Hangul syllables become jamo (NFD), as in CCNet
    assert normalize("") == "" and normalize(" \n ") == ""


def test_newlines_are_deleted_so_a_document_is_one_line():
    """CCNet's mine.py normalizes whole documents: its lines are glued with no separator."""
    assert normalize("First line.\nSecond line\r\nthird") == "first line.second linethird"


@pytest.mark.parametrize("start", range(0, sys.maxunicode + 1, 0x10000))
def test_every_code_point_as_ccnet(start):
    """All of Unicode, one plane per case, 512 code points per string (surrogates are not text)."""
    for block in range(start, min(start + 0x10000, sys.maxunicode + 1), 512):
        chars = [chr(cp) for cp in range(block, block + 512) if not 0xD800 <= cp <= 0xDFFF]
        text = "x " + " ".join(chars) + " y"
        assert normalize(text) == ccnet_normalize(text), hex(block)


def test_mixed_documents_as_ccnet():
    samples = [
        "The Œuvre of Ñandú, 1999–2003: « résumé » (２０ pages)…\nNext\tline\x00\x85end",
        "ΣΊΣΥΦΟΣ ΟΔΟΣ — İstanbul’s ﬁne café №5",
        "Ａｂｃ１２３ \u200b zero-width \u00ad soft hyphen \u0301 lone accent",
    ]
    for text in samples:
        assert normalize(text) == ccnet_normalize(text)
