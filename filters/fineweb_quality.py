"""`fineweb_quality`: FineWeb's own line rules (Penedo et al. 2024, FineWeb section 3.6; datatrove's
FineWebQualityFilter defaults): too few lines ending in punctuation, too many short lines, too many
characters in duplicated lines, too many newlines per word (lists)."""

from __future__ import annotations

from dataclasses import dataclass

from core.contracts import Contract, Signal
from core.registry import param, register
from core.text import Doc
from filters.gopher_repetition import find_duplicates


@dataclass(frozen=True)
class FineWebQualityConfig:
    min_line_punct_frac: float = param(0.12, "lines ending in terminal punctuation, at least (FineWeb)", ge=0, le=1)
    max_short_line_frac: float = param(0.67, "lines of <= short_line_chars characters, at most (FineWeb)", ge=0, le=1)
    short_line_chars: int = param(30, "what a short line is, in characters (FineWeb)", ge=0)
    max_dup_line_char_frac: float = param(0.01, "chars in duplicated lines / chars, at most (FineWeb)", ge=0, le=1)
    max_newline_word_ratio: float = param(0.3, "newlines per word, at most: lists and menus (FineWeb)", ge=0)


# datatrove utils/text.py TERMINAL_PUNCTUATION (159 characters; close to Unicode Sentence_Terminal).
TERMINAL_PUNCTUATION = frozenset(
    "!.?։؝؞؟۔܀܁܂߹࠷࠹࠽࠾।॥၊။።፧፨᙮᜵᜶។៕៖៙៚᠃᠉᥄᥅᪨᪩᪪᪫᭚᭛᭞᭟᭽᭾᰻᰼᱾᱿‼‽⁇⁈⁉⸮⸼⹓⹔。꓿꘎꘏꛳꛷꡶꡷꣎꣏꤯꧈꧉꩝꩞꩟꫰꫱꯫﹒﹖﹗！．？｡"
    "\U00010a56\U00010a57\U00010f55\U00010f56\U00010f57\U00010f58\U00010f59\U00010f86\U00010f87\U00010f88\U00010f89"
    "\U00011047\U00011048\U000110be\U000110bf\U000110c0\U000110c1\U00011141\U00011142\U00011143\U000111c5\U000111c6"
    "\U000111cd\U000111de\U000111df\U00011238\U00011239\U0001123b\U0001123c\U000112a9\U0001144b\U0001144c\U000115c2"
    "\U000115c3\U000115c9\U000115ca\U000115cb\U000115cc\U000115cd\U000115ce\U000115cf\U000115d0\U000115d1\U000115d2"
    "\U000115d3\U000115d4\U000115d5\U000115d6\U000115d7\U00011641\U00011642\U0001173c\U0001173d\U0001173e\U00011944"
    "\U00011946\U00011a42\U00011a43\U00011a9b\U00011a9c\U00011c41\U00011c42\U00011ef7\U00011ef8\U00011f43\U00011f44"
    "\U00016a6e\U00016a6f\U00016af5\U00016b37\U00016b38\U00016b44\U00016e98\U0001bc9f\U0001da88"
)
_TERMINAL = tuple(TERMINAL_PUNCTUATION)


def _signal_values(doc: Doc) -> dict[str, float]:
    lines = doc.nonempty_lines
    return {"line_punct_frac": sum(line.endswith(_TERMINAL) for line in lines) / len(lines)} if lines else {}


FINEWEB_QUALITY_CONTRACT = Contract(
    needs=("text",),
    drop_reasons=("empty", "line_punct", "short_lines", "dup_line_chars", "list_ratio"),
    signals=(Signal("line_punct_frac", "min_line_punct_frac"),),
    signal_values=_signal_values,
)


@register("fineweb_quality", FineWebQualityConfig, kind="filter", contract=FINEWEB_QUALITY_CONTRACT)
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
