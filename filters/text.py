"""One document's text and its views (lines, paragraphs, words, sentences), each computed once and shared
by every heuristic filter that runs on it.

datatrove tokenizes with a blank spaCy English pipeline (64-400 docs/s per filter here, ENVIRONMENT.md).
We approximate that tokenizer with regular expressions over whitespace-separated chunks: URLs stay whole,
leading and trailing punctuation are split off one token per character (an ellipsis stays one token),
English clitics (n't, 's, 're, ...) are split, and a hyphen between letters is its own token. The filters
only compare ratios against thresholds, so small tokenization differences rarely flip a decision; the
parity benchmark (bench/parity_filters.py) measures how often they do.
"""

from __future__ import annotations

import re
from functools import cached_property

PARAGRAPH_BREAK = re.compile(r"\n{2,}")
LINE_BREAKS = re.compile(r"\n+")
_WHITESPACE = re.compile(r"\s+")
_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|www\.)\S+$", re.I)
_CLITIC = re.compile(r"^(.+?)(n't|'s|'re|'ll|'ve|'d|'m|’s|’re|’ll|’ve|’d|’m|n’t)$", re.I)
_HYPHEN_INFIX = re.compile(r"(?<=[^\W\d_])(-|–|—)(?=[^\W\d_])")
# Characters spaCy's English prefix/suffix rules split off a token's ends.
_EDGE_PUNCT = set("\"'“”‘’«»„()[]{}<>,;:!?.…*¡¿#$%&+=/\\|~^`@§°")
_ELLIPSES = ("...", "…")


def split_words(text: str) -> list[str]:
    words: list[str] = []
    for chunk in _WHITESPACE.split(text):
        if chunk:
            words.extend(_split_chunk(chunk))
    return words


def _split_chunk(chunk: str) -> list[str]:
    prefix: list[str] = []
    suffix: list[str] = []
    while chunk and chunk[0] in _EDGE_PUNCT and not _URL.match(chunk):
        prefix.append(chunk[0])
        chunk = chunk[1:]
    while chunk and chunk[-1] in _EDGE_PUNCT:
        if chunk.endswith(_ELLIPSES) and len(chunk) > 3:
            end = 3 if chunk.endswith("...") else 1
            suffix.append(chunk[-end:])
            chunk = chunk[:-end]
            continue
        if _URL.match(chunk) and chunk[-1] not in ".,;:!?)\"'”’":
            break
        suffix.append(chunk[-1])
        chunk = chunk[:-1]
    middle: list[str] = []
    if chunk:
        clitic = _CLITIC.match(chunk) if not _URL.match(chunk) else None
        if clitic:
            middle = _split_infixes(clitic.group(1)) + [clitic.group(2)]
        else:
            middle = _split_infixes(chunk)
    return prefix + middle + suffix[::-1]


def _split_infixes(chunk: str) -> list[str]:
    if _URL.match(chunk):
        return [chunk]
    return [part for part in _HYPHEN_INFIX.split(chunk) if part]


class Doc:
    """A document as the filters see it. Views are computed on first use; `rewrite` starts over."""

    def __init__(self, text: str, url: str | None = None):
        self.text = text
        self.url = url

    def rewrite(self, text: str) -> None:
        """A line-editing filter (c4_quality) changed the text: later filters see the new one."""
        for view in ("lines", "nonempty_lines", "paragraphs", "words", "word_set", "non_symbol_words"):
            self.__dict__.pop(view, None)
        self.text = text

    @cached_property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    @cached_property
    def nonempty_lines(self) -> list[str]:
        return [line for line in self.text.split("\n") if line.strip()]

    @cached_property
    def paragraphs(self) -> list[str]:
        return PARAGRAPH_BREAK.split(self.text.strip())

    @cached_property
    def words(self) -> list[str]:
        return split_words(self.text)

    @cached_property
    def word_set(self) -> set[str]:
        return set(self.words)

    @cached_property
    def non_symbol_words(self) -> list[str]:
        return [w for w in self.words if not all(ch in PUNCTUATION_SET for ch in w)]


# datatrove's utils/text.py PUNCTUATION (Gopher's "symbol" words are made only of these characters).
PUNCTUATION = "!/—”:％１〈&(、━\\【#%「」，】；+^]~“《„';’{|∶´[=-`*．（–？！：$～«〉,><》)?）。…@_.\"}►»" + "".join(
    map(chr, (x for a, b in ((0, 9), (11, 13), (13, 32), (127, 160)) for x in range(a, b)))
)
PUNCTUATION_SET = frozenset(PUNCTUATION)
# datatrove utils/text.py TERMINAL_PUNCTUATION (159 characters; close to Unicode Sentence_Terminal).
TERMINAL_PUNCTUATION = frozenset(
    "!.?\u0589\u061d\u061e\u061f\u06d4\u0700\u0701\u0702\u07f9\u0837\u0839\u083d\u083e\u0964\u0965\u104a"
    "\u104b\u1362\u1367\u1368\u166e\u1735\u1736\u17d4\u17d5\u17d6\u17d9\u17da\u1803\u1809\u1944\u1945"
    "\u1aa8\u1aa9\u1aaa\u1aab\u1b5a\u1b5b\u1b5e\u1b5f\u1b7d\u1b7e\u1c3b\u1c3c\u1c7e\u1c7f\u203c\u203d"
    "\u2047\u2048\u2049\u2e2e\u2e3c\u2e53\u2e54\u3002\ua4ff\ua60e\ua60f\ua6f3\ua6f7\ua876\ua877\ua8ce"
    "\ua8cf\ua92f\ua9c8\ua9c9\uaa5d\uaa5e\uaa5f\uaaf0\uaaf1\uabeb\ufe52\ufe56\ufe57\uff01\uff0e\uff1f"
    "\uff61\U00010a56\U00010a57\U00010f55\U00010f56\U00010f57\U00010f58\U00010f59\U00010f86\U00010f87"
    "\U00010f88\U00010f89\U00011047\U00011048\U000110be\U000110bf\U000110c0\U000110c1\U00011141\U00011142"
    "\U00011143\U000111c5\U000111c6\U000111cd\U000111de\U000111df\U00011238\U00011239\U0001123b\U0001123c"
    "\U000112a9\U0001144b\U0001144c\U000115c2\U000115c3\U000115c9\U000115ca\U000115cb\U000115cc\U000115cd"
    "\U000115ce\U000115cf\U000115d0\U000115d1\U000115d2\U000115d3\U000115d4\U000115d5\U000115d6\U000115d7"
    "\U00011641\U00011642\U0001173c\U0001173d\U0001173e\U00011944\U00011946\U00011a42\U00011a43\U00011a9b"
    "\U00011a9c\U00011c41\U00011c42\U00011ef7\U00011ef8\U00011f43\U00011f44\U00016a6e\U00016a6f\U00016af5"
    "\U00016b37\U00016b38\U00016b44\U00016e98\U0001bc9f\U0001da88"
)
