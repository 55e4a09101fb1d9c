"""The four heuristic filters rule by rule, on tiny inline texts, and the word tokenizer on its tricky cases.

Every expected value here was checked against datatrove 0.10.1 with spaCy 3.8 (GopherRepetitionFilter,
GopherQualityFilter, C4QualityFilter(filter_no_terminal_punct=False), FineWebQualityFilter, and spaCy's blank
English tokenizer): datatrove drops each text for the same rule, under its own name for it. datatrove and spaCy
are not installed here; bench/quality/parity_filters.py runs the comparison on real pages.
"""

from __future__ import annotations

import random
import string
from collections import Counter

import pytest

from core.registry import REGISTRY
from core.text import Doc, split_words
from filters.c4_quality import C4QualityConfig, c4_quality, count_sentences
from filters.fineweb_quality import FineWebQualityConfig, fineweb_quality
from filters.gopher_quality import GopherQualityConfig, gopher_quality
from filters.gopher_repetition import GopherRepetitionConfig, NGrams, gopher_repetition

CLEAN = (
    "The old lighthouse stood at the edge of the harbour for more than a century. Sailors trusted its light to "
    "guide them home through storms and fog. In the winter of 1902, a fierce gale destroyed the lantern room, and "
    "the keeper had to work through the night to keep a lamp burning. The town later raised money to rebuild it "
    "with stone from the nearby quarry. Today it is a small museum that welcomes visitors during the summer "
    "months, and the view from the top is worth the climb."
)
SENTENCE = "The keeper of the lighthouse walked to the harbour with his dog. "


def words(prefix: str, n: int) -> list[str]:
    """n distinct alphabetic words: prefix + three letters."""
    return [prefix + "".join(string.ascii_lowercase[i // 26**k % 26] for k in range(3)) for i in range(n)]


def repeated(seq_words: int, copies: int, filler_words: int) -> str:
    """A sequence of distinct words said `copies` times, then distinct filler words and a period."""
    return " ".join([" ".join(words("rep", seq_words))] * copies + words("fill", filler_words)) + "."


REPETITION = {
    "empty": "",
    "dup_para_frac": "I am your father.\n\n" * 4,
    "dup_para_char_frac": ("x" * 100 + "\n\n") * 2 + "a\n\nb\n\nc\n\nd\n\ne\n\nf\n\ng",
    "dup_line_frac": "I am your father.\n" * 4,
    "dup_line_char_frac": ("y" * 100 + "\n") * 2 + "a\nb\nc\nd\ne\nf\ng",
    "top_2gram": repeated(2, 2, 0),
    "top_3gram": repeated(2, 3, 21),
    "top_4gram": repeated(2, 2, 15),
    "dup_5gram": repeated(5, 8, 135),
    "dup_6gram": repeated(5, 6, 102),
    "dup_7gram": repeated(5, 8, 141),
    "dup_8gram": repeated(5, 6, 105),
    "dup_9gram": repeated(4, 8, 141),
    "dup_10gram": repeated(4, 6, 108),
}
QUALITY = {
    "few_words": "Too short to be a web page.",
    "many_words": "the word " * 50_001,
    "short_words": "I am a cat and so is my ox. " * 8,
    "long_words": "the incomprehensibilities of internationalization " * 20,
    "hash_ratio": SENTENCE * 5 + "#tag " * 10,
    "ellipsis_ratio": SENTENCE * 5 + "and then... " * 10,
    "bullet_lines": "- " + "\n- ".join([SENTENCE] * 10) + "\n- ".join(words("item", 2)),
    "ellipsis_lines": "\n".join([SENTENCE * 3 + "and so on..."] * 2 + [SENTENCE * 3] * 3),
    "few_alpha_words": SENTENCE * 5 + " ".join(map(str, range(1, 31))),
    "few_stop_words": "Lighthouse keepers walked along harbours daily carrying lamps ropes maps bread. " * 6,
}
C4 = {
    "lorem_ipsum": CLEAN + "\nLorem ipsum dolor sit amet.",
    "curly_bracket": CLEAN + "\nfunction f() { return 1; }",
    "few_sentences": "One sentence here. Another one there. A third one.\nshort line",
}
FINEWEB = {
    "empty": "\n\n",
    "line_punct": "\n".join(f"a menu entry without punctuation number {w}" for w in words("m", 10)),
    "short_lines": "\n".join(f"Short line {w}." for w in words("s", 10)),
    "dup_line_chars": CLEAN + "\n" + "This line appears twice in the text.\n" * 2,
    "list_ratio": "\n".join(f"Supercalifragilisticexpialidocious{w}." for w in words("l", 10)),
}
FILTERS = {
    "gopher_repetition": (gopher_repetition, GopherRepetitionConfig(), REPETITION),
    "gopher_quality": (gopher_quality, GopherQualityConfig(), QUALITY),
    "c4_quality": (c4_quality, C4QualityConfig(), C4),
    "fineweb_quality": (fineweb_quality, FineWebQualityConfig(), FINEWEB),
}
CASES = [(name, rule) for name, (_, _, texts) in FILTERS.items() for rule in texts]


@pytest.mark.parametrize("name,rule", CASES, ids=[f"{name}.{rule}" for name, rule in CASES])
def test_each_rule_drops_its_text(name, rule):
    fn, cfg, texts = FILTERS[name]
    assert fn(Doc(texts[rule]), cfg) == rule


@pytest.mark.parametrize("name", FILTERS)
def test_clean_english_paragraph_is_kept_by_all_four(name):
    fn, cfg, _ = FILTERS[name]
    assert fn(Doc(CLEAN), cfg) is None


def test_every_rule_of_each_filter_has_a_case():
    """The rules each filter declares in its contract (what the report and the docs list) are the rules tested here."""
    declared = {name: set(REGISTRY.get(name).contract.drop_reasons) for name in FILTERS}
    assert {name: set(texts) for name, (_, _, texts) in FILTERS.items()} == declared


def test_c4_rewrites_the_lines_it_keeps():
    doc = Doc(CLEAN + "[1]\nToo short\nPlease enable JavaScript to view the comments.\nWe use cookies on this site.")
    assert c4_quality(doc, C4QualityConfig()) is None
    assert doc.text == CLEAN
    assert doc.words == split_words(CLEAN)  # views follow the rewrite


# spaCy 3.8 blank English tokens (whitespace tokens dropped), as datatrove's split_into_words gives them.
TOKENS = [
    ("don't", ["do", "n't"]),
    ("didn’t", ["did", "n’t"]),
    ("I'm", ["I", "'m"]),
    ("John's", ["John", "'s"]),
    ("cannot", ["can", "not"]),
    ("gonna", ["gon", "na"]),
    ("dont", ["do", "nt"]),
    ("im", ["i", "m"]),  # an English exception: German "im" becomes two tokens too
    ("its", ["its"]),
    ("rock'n'roll", ["rock'n'roll"]),
    ("y'all", ["y'", "all"]),
    ("well-known", ["well", "-", "known"]),
    ("1988-12-28", ["1988", "-", "12", "-", "28"]),
    ("pre-/post-war", ["pre-/post", "-", "war"]),
    ("a--b", ["a", "--", "b"]),
    ("https://example.com/a-b?x=1,", ["https://example.com/a-b?x=1", ","]),
    ("(www.example.org)", ["(", "www.example.org", ")"]),
    ("user@example.com.", ["user@example.com", "."]),
    ("3.5 1,000 12:30 1/2 +44", ["3.5", "1,000", "12:30", "1/2", "+44"]),
    ("$5 US$5 5km 10% 3+4", ["$", "5", "US$", "5", "5", "km", "10", "%", "3", "+", "4"]),
    ("e.g. U.S. U.S.A. Mr. vs. a.m.", ["e.g.", "U.S.", "U.S.A.", "Mr.", "vs.", "a.m."]),
    ("etc. A. I. z.B. x.Y", ["etc", ".", "A.", "I.", "z.", "B.", "x.", "Y"]),
    ("5pm 10a.m. 25°C.", ["5", "pm", "10", "a.m.", "25", "°", "C", "."]),
    ("wait... so… word....", ["wait", "...", "so", "…", "word", "...."]),
    ("Hello?! !!!", ["Hello", "?", "!", "!", "!", "!"]),
    ("(see below): great:)", ["(", "see", "below", "):", "great", ":)"]),
    ("great😀 great🥲", ["great", "😀", "great🥲"]),  # 🥲 is newer than spaCy's symbol list: not split off
    ('"Hello," she said.', ['"', "Hello", ",", '"', "she", "said", "."]),
    ("«guillemets» [1] one,two 3,4 C++", ["«", "guillemets", "»", "[", "1", "]", "one", ",", "two", "3,4", "C++"]),
    ("café. naïve 中文。 日本語！ Русский.", ["café", ".", "naïve", "中文", "。", "日本語", "！", "Русский", "."]),
    ("two  spaces\tand\nlines", ["two", "spaces", "and", "lines"]),
]


@pytest.mark.parametrize("text,expected", TOKENS, ids=[t for t, _ in TOKENS])
def test_split_words_gives_spacys_tokens(text, expected):
    assert split_words(text) == expected


@pytest.mark.parametrize(
    "line,expected",
    [
        ("Hello world. This is it.", 2),
        ("Wait... what? Yes!", 2),  # "..." is not a sentence end, "?" is
        ("See e.g. this one. And U.S. policy too.", 2),  # abbreviations are single tokens
        ("Done!!! Yes.", 2),
        ('He said "stop." Then left.', 2),  # closing punctuation stays in the sentence
        ("Version 3.5 is out. Get it.", 2),
        ("x. y. z.", 1),  # "x." is one token (an exception), so no sentence ends
        ("Stop. !", 1),
        ("Stop.  !", 2),  # the second space is a token of its own, and not punctuation
        ("Ends.  ", 2),
        ("Wait.\xa0Yes", 2),
    ],
)
def test_count_sentences_as_spacys_sentencizer(line, expected):
    assert count_sentences(line) == expected


def _reference_top(words: list[str], n: int) -> int:
    """datatrove's get_n_grams + find_top_duplicate."""
    gram, count = Counter(" ".join(words[i : i + n]) for i in range(len(words) - n + 1)).most_common(1)[0]
    return len(gram) * count


def _reference_duplicated(words: list[str], n: int) -> int:
    """datatrove's find_all_duplicate."""
    seen, repeated, idx = set(), 0, 0
    while idx < len(words) - n + 1:
        gram = "".join(words[idx : idx + n])
        if gram in seen:
            repeated += len(gram)
            idx += n
        else:
            seen.add(gram)
            idx += 1
    return repeated


def test_ngram_counts_equal_datatrove_arithmetic_on_random_texts():
    """Small vocabularies whose words run together ambiguously ("ab c" == "a bc"): the numpy counting must keep
    datatrove's quirks exactly, in any order of calls."""
    rng = random.Random(0)
    for trial in range(2000):
        vocab = rng.sample(["a", "b", "ab", "ba", "c", "bc", "abc", "x", "é", "中", "😀"], rng.randint(1, 6))
        text_words = [rng.choice(vocab) for _ in range(rng.randint(0, 60))]
        grams = NGrams(text_words)
        for n in rng.sample([2, 3, 4], 3):
            if len(text_words) >= n:
                assert grams.top_chars(n) == _reference_top(text_words, n), (text_words, n)
        for n in range(5, 11):
            assert grams.duplicated_chars(n) == _reference_duplicated(text_words, n), (text_words, n)
