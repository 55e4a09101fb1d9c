"""Our transcription of spaCy's English tokenizer (core/text.py) against spaCy itself, on real text.

datatrove's heuristic filters count words with a blank spaCy English tokenizer (`split_into_words`: the tokens,
stripped, empty ones dropped); ours re-implements it for speed (~10x). spaCy is a dev dependency so that this
parity is checked in CI, not in a venv the repository cannot rebuild. The one known kind of difference is pinned
in tests/test_parity_cases.py. The character classes are derived from Unicode categories: a Python with another
Unicode version (3.11 has Unicode 14) can move a character in or out of a class, which this test would show.
"""

from __future__ import annotations

import gzip
import json
import unicodedata

import pytest

from core.text import split_words
from tests.conftest import shared_data

spacy = pytest.importorskip("spacy", reason="spaCy is a dev dependency: pip install -e '.[dev]'")


@pytest.fixture(scope="module")
def tokenizer():
    return spacy.blank("en")


def _spacy_words(tokenizer, text: str) -> list[str]:
    """datatrove's `split_into_words` for English, as datatrove 0.10.1 writes it."""
    tokenizer.max_length = len(text) + 10
    return [t.text.strip() for t in tokenizer(text) if t.text.strip()]


def _real_texts() -> list[str]:
    quality = shared_data("quality")
    with gzip.open(quality / "cc_text_dolma_CC-MAIN-2019-30_697docs.jsonl.gz", "rt") as f:
        texts = [json.loads(line)["text"] for line in f]
    for path in sorted((quality / "ccnet_head_samples").glob("*.jsonl")):
        texts += [json.loads(line)["text"] for line in path.open() if line.strip()]
    wiki = (quality / "wikitext2" / "valid.txt").read_text().split("\n \n")
    return texts + [w for w in wiki if w.strip()]


def test_unicode_version_is_the_one_the_classes_were_checked_on():
    assert unicodedata.unidata_version == "14.0.0", "re-run this file's parity test: character classes may move"


def test_words_equal_spacys_on_real_crawl_and_wikipedia_text(tokenizer):
    texts = _real_texts()
    assert len(texts) > 1000
    differ = [i for i, text in enumerate(texts) if split_words(text) != _spacy_words(tokenizer, text)]
    assert differ == [], f"{len(differ)} of {len(texts)} texts tokenize differently, first: {texts[differ[0]][:300]!r}"
