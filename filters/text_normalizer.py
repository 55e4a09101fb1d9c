"""CCNet's text normalization before its language models (cc_net/text_normalizer.py `normalize`, defaults).

In this order: strip surrounding whitespace; lower case; NFD, then drop every combining mark (Unicode category Mn:
accents, and so Hangul syllables become their jamo, as in CCNet); every decimal digit (Python's `\\d`: category Nd,
fullwidth digits too) to `0`; CCNet's 34 Unicode punctuation marks to ASCII (`，` -> `,`, `—` -> ` - `, `…` -> `...`);
delete the control characters U+0000-U+001F and U+007F-U+009F, newline and tab included. The last step is why
CCNet's `mine.py`, which normalizes a whole document before SentencePiece, scores it as one line: its lines are glued
together with no separator ("end of one.start of two").

CCNet runs these as five passes of Python code per character. Each later step maps one character to a fixed
string whatever its neighbours, and no step's output feeds an earlier step's rule (`0` is no mark, no punctuation
and no control character; the replacements are ASCII punctuation and spaces), so after NFD one `str.translate`
over a table built once per process gives the same string (tests/test_perplexity_normalizer.py checks it against
a plain transcription of CCNet's functions, code point by code point). English crawl text: ~11 MB/CPU-s;
the table takes 0.16 CPU-s to build, once per worker process.
"""

from __future__ import annotations

import functools
import sys
import unicodedata

# cc_net/text_normalizer.py UNICODE_PUNCT (replace_unicode_punct, the `punct=1` default of normalize)
UNICODE_PUNCT = {
    "，": ",", "。": ".", "、": ",", "„": '"', "”": '"', "“": '"', "«": '"', "»": '"', "１": '"',
    "」": '"', "「": '"', "《": '"', "》": '"', "´": "'", "∶": ":", "：": ":", "？": "?", "！": "!",
    "（": "(", "）": ")", "；": ";", "–": "-", "—": " - ", "．": ". ", "～": "~", "’": "'", "…": "...",
    "━": "-", "〈": "<", "〉": ">", "【": "[", "】": "]", "％": "%", "►": "-",
}  # fmt: skip
CONTROL_CHARS = [*range(0, 32), *range(127, 160)]  # cc_net NON_PRINTING_CHARS_RE


@functools.lru_cache(maxsize=1)
def _table() -> dict[int, str | None]:
    """One translate table for the steps after NFD; later steps only see what earlier ones left (see above)."""
    table: dict[int, str | None] = {ord(c): r for c, r in UNICODE_PUNCT.items()}
    table.update(dict.fromkeys(CONTROL_CHARS))
    for cp in range(sys.maxunicode + 1):
        c = chr(cp)
        if c.isdecimal():  # exactly what re's \d matches in a str pattern (category Nd)
            table[cp] = "0"  # digits are replaced before punctuation: fullwidth `１` becomes 0, not `"`
        elif unicodedata.category(c) == "Mn":
            table[cp] = None
    return table


def normalize(text: str) -> str:
    """CCNet's `text_normalizer.normalize(text)` with its defaults (accent, case, numbers, punct=1)."""
    text = text.strip()
    if not text:
        return text
    text = text.lower()
    if not text.isascii():  # NFD changes no ASCII string
        text = unicodedata.normalize("NFD", text)
    return text.translate(_table())
