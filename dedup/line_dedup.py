"""`line_dedup`: CCNet's exact line deduplication (Wenzek et al. 2020, section 3.1), the LLaMA-1 step.

Within a group of input files (default 50, about CCNet's shard groups), every line whose normalized form
occurs more than once is removed from every document; documents left under `min_words` words are dropped
(`line_dedup.too_short`). Normalization follows CCNet's `normalize_for_dedup` (strip, lowercase, digits
-> 0, punctuation and non-printing characters removed) but removes every Unicode punctuation and symbol
character (CCNet: only its list of non-ASCII punctuation) and collapses whitespace, so "Home | About" and
"HOME  ABOUT" are one line. Never over the whole corpus by default: FineWeb measured
that a global line dedup removes most tokens and hurts (FineWeb section 3.5).

One task per group reads its parts twice (count, then rewrite), holding the group's 64-bit line hashes
(~8 bytes a line: ~0.5 GB for 50 CommonCrawl files), never the corpus's.
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xxhash

from pipeline import corpus, storage
from pipeline.registry import param, register

_DIGITS = re.compile(r"\d")
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


@register("line_dedup", LineDedupConfig, kind="corpus")
class LineDedup:
    """CCNet line dedup within groups of input files: repeated lines removed, short leftovers dropped."""

    def __init__(self, cfg: LineDedupConfig):
        self.cfg = cfg

    def run(self, ctx: corpus.CorpusContext) -> list:
        size = self.cfg.files_per_group
        groups = [ctx.parts[i : i + size] for i in range(0, len(ctx.parts), size)]
        return ctx.map(dedup_group, [(ctx.dirs, group, self.cfg) for group in groups])


def normalize_line(line: str) -> str:
    """CCNet's normalize_for_dedup, with all punctuation/symbols removed and whitespace collapsed."""
    line = _DIGITS.sub("0", line.strip().lower())
    kept = "".join(c for c in line if not unicodedata.category(c).startswith(("P", "S", "Cc", "Cf")))
    return " ".join(kept.split())


def split_units(text: str, unit: str) -> list[str]:
    return text.split("\n") if unit == "line" else _BLANK_LINES.split(text)


def _hash(unit_text: str) -> int:
    normalized = normalize_line(unit_text)
    return xxhash.xxh3_64_intdigest(normalized.encode()) if normalized else 0  # 0: blank, never a duplicate


def dedup_group(dirs: corpus.StageDirs, group: list[tuple[int, str]], cfg: LineDedupConfig) -> list[dict]:
    """Task: count the group's line hashes, then rewrite each of its parts and commit its stats."""
    fs, _ = storage.filesystem(dirs.output)
    if all(fs.exists(dirs.stats_path(i)) for i, _ in group):
        return [storage.read_json(fs, dirs.stats_path(i)) for i, _ in group]
    started = time.perf_counter()
    counts = _count_hashes(fs, group, cfg.unit)
    seen: set[int] = set()
    results = []
    for index, part in group:
        docs = pq.read_table(part, filesystem=fs)
        texts, reasons = _rewrite(docs.column("text").to_pylist(), counts, seen, cfg)
        rewritten = docs.set_column(docs.column_names.index("text"), "text", pa.array(texts, pa.large_string()))
        is_kept = pa.array([r is None for r in reasons], pa.bool_())
        dropped = docs.filter(pc.invert(is_kept))  # samples show the text before its lines were removed
        kept_reasons = [r for r in reasons if r]
        results.append(
            corpus.commit_part(fs, dirs, index, docs, rewritten.filter(is_kept), dropped, kept_reasons, started)
        )
        started = time.perf_counter()
    return results


def _count_hashes(fs, group, unit: str) -> dict[int, int]:
    hashes = []
    for _, part in group:
        for text in pq.read_table(part, columns=["text"], filesystem=fs).column("text").to_pylist():
            hashes.extend(_hash(u) for u in split_units(text or "", unit))
    values, counts = np.unique(np.array(hashes, dtype=np.uint64), return_counts=True)
    repeated = counts > 1
    return dict(zip(values[repeated].tolist(), counts[repeated].tolist()))


def _rewrite(texts: list[str], repeated: dict[int, int], seen: set[int], cfg: LineDedupConfig):
    """Parts are visited in doc_id order, so `keep_first` keeps the occurrence with the smallest doc_id."""
    joiner = "\n" if cfg.unit == "line" else "\n\n"
    out, reasons = [], []
    for text in texts:
        kept_units = []
        for u in split_units(text or "", cfg.unit):
            h = _hash(u)
            if h == 0 or h not in repeated or (cfg.keep_first and h not in seen):
                kept_units.append(u)
            seen.add(h)
        new_text = joiner.join(kept_units).strip()
        out.append(new_text)
        reasons.append("line_dedup.too_short" if len(new_text.split()) < cfg.min_words else None)
    return out, reasons
