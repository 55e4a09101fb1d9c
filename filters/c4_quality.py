"""`c4_quality`: C4's line rules, as FineWeb used them (datatrove C4QualityFilter, no terminal-punct rule).

Lines are edited, not just judged: a line with a word over 1,000 characters, fewer than 3 words, the word
"javascript" or a cookie/terms-of-use phrase is removed, and Wikipedia-style citations are stripped. The
document is dropped if it says "lorem ipsum", holds a curly bracket, or keeps fewer than 5 sentences.
Source: Raffel et al. 2020 (C4, JMLR 21) section 2.2 and TFDS c4_utils.py; FineWeb turned off the
terminal-punctuation rule (it removes too much), so that is our default too.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from core.contracts import Contract
from core.registry import param, register
from core.text import Doc, chunk_words

CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
END_PUNCTUATION = (".", "?", "!", '"', "'")
POLICY_PHRASES = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")
# spaCy's Sentencizer default punct_chars (spacy/pipeline/sentencizer.pyx): a token that is one of these ends a
# sentence. datatrove's C4 counts sentences with that Sentencizer over blank English spaCy tokens.
SENTENCE_ENDS = frozenset(
    "!.?։؟۔܀܁܂߹।॥၊။።፧፨᙮᜵᜶᠃᠉᥄᥅᪨᪩᪪᪫᭚᭛᭞᭟᰻᰼᱾᱿‼‽⁇⁈⁉⸮⸼꓿꘎꘏꛳꛷꡶꡷꣎꣏꤯꧈꧉꩝꩞꩟꫰꫱꯫﹒﹖﹗！．？｡。"
    "\U00010a56\U00010a57\U00011047\U00011048\U000110be\U000110bf\U000110c0\U000110c1\U00011141\U00011142"
    "\U00011143\U000111c5\U000111c6\U000111cd\U000111de\U000111df\U00011238\U00011239\U0001123b\U0001123c"
    "\U000112a9\U0001144b\U0001144c\U000115c2\U000115c3\U000115c9\U000115ca\U000115cb\U000115cc\U000115cd"
    "\U000115ce\U000115cf\U000115d0\U000115d1\U000115d2\U000115d3\U000115d4\U000115d5\U000115d6\U000115d7"
    "\U00011641\U00011642\U0001173c\U0001173d\U0001173e\U00011a42\U00011a43\U00011a9b\U00011a9c\U00011c41"
    "\U00011c42\U00016a6e\U00016a6f\U00016af5\U00016b37\U00016b38\U00016b44\U0001bc9f\U0001da88"
)
_WHITESPACE_RUNS = re.compile(r"(\s+)")


@dataclass(frozen=True)
class C4QualityConfig:
    min_sentences: int = param(5, "sentences left after line edits, at least (C4)", ge=0)
    min_words_per_line: int = param(3, "words a line needs to be kept (C4)", ge=0)
    max_word_length: int = param(1000, "a line with a longer word is removed (C4 code)", ge=1)
    require_terminal_punct: bool = param(False, "keep only lines ending in . ? ! \" ' (C4: on; FineWeb: off)")
    remove_citations: bool = param(True, "strip [1], [edit], [citation needed] (C4 code)")
    drop_lorem_ipsum: bool = param(True, "drop documents saying 'lorem ipsum' (C4)")
    drop_curly_bracket: bool = param(True, "drop documents with '{' (C4: code, not prose)")
    remove_javascript_lines: bool = param(True, "remove lines mentioning javascript (C4)")
    remove_policy_lines: bool = param(True, "remove cookie / terms-of-use lines (C4 code)")


C4_CONTRACT = Contract(needs=("text",), drop_reasons=("lorem_ipsum", "curly_bracket", "few_sentences"))


@register("c4_quality", C4QualityConfig, kind="filter", contract=C4_CONTRACT)
def c4_quality(doc: Doc, cfg: C4QualityConfig) -> str | None:
    """C4 line rules (FineWeb's variant): edits lines, drops lorem ipsum, curly brackets, too few sentences."""
    kept, n_sentences = [], 0
    for raw in doc.lines:
        line, verdict = _judge_line(raw.strip(), cfg)
        if verdict == "drop_doc":
            return line
        if verdict == "keep":
            n_sentences += count_sentences(line) if cfg.min_sentences else 0
            kept.append(line)
    if n_sentences < cfg.min_sentences:
        return "few_sentences"
    doc.rewrite("\n".join(kept).strip())
    return None


def _judge_line(line: str, cfg: C4QualityConfig) -> tuple[str, str]:
    """("", "remove") | (line, "keep") | (reason, "drop_doc"), in datatrove's order of checks."""
    words = line.split()
    if any(len(w) > cfg.max_word_length for w in words):
        return "", "remove"
    if cfg.remove_citations:
        line = CITATION.sub("", line)
    if cfg.require_terminal_punct and (not line.endswith(END_PUNCTUATION) or line.endswith("...")):
        return "", "remove"
    if len(words) < cfg.min_words_per_line:
        return "", "remove"
    lowered = line.lower()
    if cfg.drop_lorem_ipsum and "lorem ipsum" in lowered:
        return "lorem_ipsum", "drop_doc"
    if cfg.remove_javascript_lines and "javascript" in lowered:
        return "", "remove"
    if cfg.drop_curly_bracket and "{" in line:
        return "curly_bracket", "drop_doc"
    if cfg.remove_policy_lines and any(p in lowered for p in POLICY_PHRASES):
        return "", "remove"
    return line, "keep"


def count_sentences(line: str) -> int:
    """Sentences as spaCy's rule-based Sentencizer counts them: a new one starts at the first token after a
    sentence end that is not punctuation. spaCy makes a token of any whitespace but the one space after a word:
    such a token is not punctuation, so it can start a sentence too (leading whitespace cannot: nothing ended)."""
    count, seen_end = 1, False
    pieces = _WHITESPACE_RUNS.split(line)  # chunk, whitespace, chunk, ..., chunk (end chunks may be "")
    for i, piece in enumerate(pieces):
        if i % 2:  # a whitespace run
            if seen_end and piece != " ":
                count, seen_end = count + 1, False
            continue
        for token in chunk_words(piece) if piece else ():
            if token in SENTENCE_ENDS:
                seen_end = True
            elif seen_end and not _is_punct(token):
                count, seen_end = count + 1, False
    return count


def _is_punct(token: str) -> bool:
    """spaCy's `is_punct`: every character is in a Unicode punctuation category."""
    return _is_punct_cached(token) if len(token) <= 64 else _punct_only(token)  # cached: at most 16 K short keys


def _punct_only(token: str) -> bool:
    return all(unicodedata.category(c).startswith("P") for c in token)


_is_punct_cached = lru_cache(maxsize=1 << 14)(_punct_only)
