"""`line_dedup`: CCNet's exact line deduplication (Wenzek et al. 2020, section 3.1), the LLaMA-1 step.

Within a group of input files (default 50, about CCNet's shard groups), every line whose normalized form
occurs more than once is removed from every document; documents left under `min_words` words are dropped
(`line_dedup.too_short`). Normalization follows CCNet's `normalize_for_dedup` (strip, lowercase, digits
-> 0, punctuation and non-printing characters removed) but removes every Unicode punctuation and symbol
character (CCNet: only its list of non-ASCII punctuation) and collapses whitespace, so "Home | About" and
"HOME  ABOUT" are one line. Never over the whole corpus by default: FineWeb measured
that a global line dedup removes most tokens and hurts (FineWeb section 3.5).

One task per group reads its parts twice (count, then rewrite), holding the group's 64-bit line hashes in
one numpy array (8 bytes a line, plus 16 for each distinct repeated line: ~0.3 GB for 50 CommonCrawl files
of ~600 k kept lines each), never the corpus's.
"""

from __future__ import annotations

import functools
import re
import sys
import time
import unicodedata
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xxhash

from core import corpus, storage
from core.contracts import Contract
from core.registry import param, register

_BLANK_LINES = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class LineDedupConfig:
    files_per_group: int = param(50, "input files deduplicated together (CCNet shard groups); not the corpus", ge=1)
    unit: str = param(
        "line",
        "'line' (split on newlines, CCNet) or 'paragraph' (split on blank lines)",
        choices=("line", "paragraph"),
    )
    keep_first: bool = param(False, "keep the first occurrence (smallest doc_id) instead of removing all (CCNet)")
    min_words: int = param(50, "drop a document left with fewer words (Gopher's minimum document length)", ge=0)


@register(
    "line_dedup", LineDedupConfig, kind="corpus", contract=Contract(needs=("text",), drop_reasons=("too_short",))
)
class LineDedup:
    """CCNet line dedup within groups of input files: repeated lines removed, short leftovers dropped."""

    def __init__(self, cfg: LineDedupConfig):
        self.cfg = cfg

    def run(self, ctx: corpus.CorpusContext) -> list:
        size = self.cfg.files_per_group
        groups = [ctx.parts[i : i + size] for i in range(0, len(ctx.parts), size)]
        return ctx.step("dedup", dedup_group, [(ctx.dirs, group, self.cfg) for group in groups])


def normalize_line(line: str) -> str:
    """CCNet's normalize_for_dedup, with all punctuation/symbols removed and whitespace collapsed."""
    return " ".join(line.strip().lower().translate(_normalization_table()).split())


@functools.cache
def _normalization_table() -> dict[int, str | None]:
    """Decimal digits (what `\\d` matches) -> "0"; punctuation, symbols, controls and format characters
    removed. One str.translate instead of a regex and a loop over characters (about 10x faster)."""
    table: dict[int, str | None] = {}
    for code in range(sys.maxunicode + 1):
        category = unicodedata.category(chr(code))
        if category == "Nd":
            table[code] = "0"
        elif category.startswith(("P", "S")) or category in ("Cc", "Cf"):
            table[code] = None
    return table


def split_units(text: str, unit: str) -> list[str]:
    return text.split("\n") if unit == "line" else _BLANK_LINES.split(text)


def _hash(unit_text: str) -> int:
    normalized = normalize_line(unit_text)
    return xxhash.xxh3_64_intdigest(normalized.encode()) if normalized else 0  # 0: blank, never a duplicate


def _unit_hashes(texts: list[str], unit: str) -> np.ndarray:
    """Every unit's hash, documents in order, units in order (one flat array)."""
    return np.fromiter((_hash(u) for t in texts for u in split_units(t or "", unit)), dtype=np.uint64)


def dedup_group(dirs: corpus.StageDirs, group: list[tuple[int, str]], cfg: LineDedupConfig) -> list[dict]:
    """Task: hash the group's lines, then rewrite each of its parts and commit its stats."""
    fs, _ = storage.filesystem(dirs.output)
    if all(fs.exists(dirs.stats_path(i)) for i, _ in group):
        return [storage.read_json(fs, dirs.stats_path(i)) for i, _ in group]
    started = time.perf_counter()
    per_part = [_unit_hashes(_texts(fs, part), cfg.unit) for _, part in group]
    repeated = Repeated.of(np.concatenate(per_part) if per_part else np.empty(0, np.uint64))
    results, offset = [], 0
    for (index, part), hashes in zip(group, per_part):
        docs = pq.read_table(part, filesystem=fs)
        keep = repeated.keep(hashes, offset, cfg.keep_first)
        offset += len(hashes)
        texts, reasons = _rewrite(docs.column("text").to_pylist(), keep, cfg)
        rewritten = docs.set_column(docs.column_names.index("text"), "text", pa.array(texts, pa.large_string()))
        is_kept = pa.array([r is None for r in reasons], pa.bool_())
        dropped = docs.filter(pc.invert(is_kept))  # samples show the text before its lines were removed
        kept_reasons = [r for r in reasons if r]
        results.append(
            corpus.commit_part(fs, dirs, index, docs, rewritten.filter(is_kept), dropped, kept_reasons, started)
        )
        started = time.perf_counter()
    return results


def _texts(fs, part: str) -> list[str]:
    return pq.read_table(part, columns=["text"], filesystem=fs).column("text").to_pylist()


@dataclass(frozen=True)
class Repeated:
    """The hashes that occur more than once in a group (sorted), and where each first occurs."""

    values: np.ndarray
    first: np.ndarray

    @classmethod
    def of(cls, hashes: np.ndarray) -> Repeated:
        values, first, counts = np.unique(hashes, return_index=True, return_counts=True)
        repeated = (counts > 1) & (values != 0)  # 0: a blank unit, never a duplicate
        return cls(values[repeated], first[repeated])

    def keep(self, hashes: np.ndarray, offset: int, keep_first: bool) -> np.ndarray:
        """Which of these units (at group positions offset...) stay: not repeated, or, with keep_first,
        the first occurrence (parts are visited in doc_id order: the smallest doc_id's copy)."""
        if not self.values.size:
            return np.ones(len(hashes), dtype=bool)
        at = np.minimum(np.searchsorted(self.values, hashes), len(self.values) - 1)
        is_repeated = self.values[at] == hashes
        if not keep_first:
            return ~is_repeated
        return ~is_repeated | (self.first[at] == offset + np.arange(len(hashes)))


def _rewrite(texts: list[str], keep: np.ndarray, cfg: LineDedupConfig):
    joiner = "\n" if cfg.unit == "line" else "\n\n"
    out, reasons, position = [], [], 0
    for text in texts:
        units = split_units(text or "", cfg.unit)
        mask = keep[position : position + len(units)].tolist()
        position += len(units)
        new_text = joiner.join(u for u, k in zip(units, mask) if k).strip()
        out.append(new_text)
        reasons.append("line_dedup.too_short" if len(new_text.split()) < cfg.min_words else None)
    return out, reasons
