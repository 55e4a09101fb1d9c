"""`perplexity`: CCNet's per-document KenLM perplexity and its head/middle/tail buckets (LLaMA-1's "n-gram language
model" filter, as RedPajama-v1 reproduced it: keep head and middle).

As CCNet computes it (cc_net/mine.py steps `sp`, `lm`, `pp_bucket`; cc_net/perplexity.py): the document is normalized
(filters/text_normalizer.py: lower case, no accents, digits to 0, punctuation to ASCII, control characters deleted),
cut into SentencePiece pieces joined by spaces, split on "\\n" and each line scored by the KenLM model with <s> and
</s>; perplexity = round(10 ** (-sum(log10 p) / sum(pieces + 1)), 1). Normalization deletes "\\n", so under
`unit: document` (CCNet's mine.py) the whole document is one KenLM sentence; `unit: line` normalizes, encodes and
scores each line on its own (CCNet's DocLM loop over lines that keep their newlines). A document whose language
has no model, or whose normalized text is empty, gets no perplexity and the bucket `all`, as in CCNet.

Buckets (cc_net PerplexityBucket): for the document's language, `head` below the `head_percentile`-th row of the
cutoff table, `middle` below the `tail_percentile`-th, else `tail`; CCNet's table (`filters/assets/ccnet_cutoff.csv`,
cc_net/data/cutoff.csv) holds the 0th-99th percentiles of its own models' perplexities over a crawl, per language.
Cutoffs belong to a model: the shipped English model (MODEL_CARD_perplexity.md) has its own, recomputed the same
way over crawl pages; a `model_dir` with a `cutoff.csv` uses that one, else CCNet's. Records `perplexity` (float64,
CCNet's rounded value), `ccnet_bucket` and `perplexity_percentile` (the row of the cutoff table the perplexity
reaches, / 100; the report's histogram, with the kept buckets' upper cutoff marked) on every document it sees.
Keeps `keep_buckets` (RedPajama-v1: head, middle) and, if `max_perplexity` is set, perplexity <= it; a dropped
document's reason is `perplexity.<its bucket>`. Cost: 3.4 CPU-ms per English crawl page (1.9 MB/CPU-s, half of it
SentencePiece), against 4.7 for the four heuristic filters and 0.7 for the quality classifier (BENCHMARKS.md).
"""

from __future__ import annotations

import bisect
import csv
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from core.batch import set_column, with_drop_reasons
from core.contracts import Contract, Signal
from core.registry import param, register
from filters.text_normalizer import normalize

ASSETS = Path(__file__).parent / "assets"
SHIPPED_MODEL_DIR = str(ASSETS / "ppl_wikitext_en")  # en.arpa.bin, en.sp.model, cutoff.csv (train-lm's output)
CCNET_CUTOFFS = str(ASSETS / "ccnet_cutoff.csv")
BUCKETS = ("head", "middle", "tail", "all")  # `all`: not bucketed (no model for the language, or no text)


@dataclass(frozen=True)
class PerplexityConfig:
    languages: tuple[str, ...] = param(
        ("en",), "languages with a model: <model_dir>/<lang>.arpa.bin + <lang>.sp.model (CCNet's lm_dir layout)"
    )
    model_dir: str = param(
        "",
        "folder of CCNet-format models (CCNet's published en.arpa.bin + en.sp.model, or train-lm's output); "
        "empty: the shipped English model (MODEL_CARD_perplexity.md)",
    )
    cutoffs_path: str = param(
        "",
        "perplexity percentiles per language (CCNet's cutoff.csv format); empty: <model_dir>/cutoff.csv if "
        "there (the shipped model has its own), else CCNet's cutoff.csv",
        is_file=True,
    )
    unit: str = param("document", "document: CCNet's mine.py (one sentence); line: each line scored alone",
                      choices=("document", "line"))  # fmt: skip
    head_percentile: int = param(30, "head: perplexity below this percentile (cc_net PerplexityBucket)", ge=1, le=99)
    tail_percentile: int = param(60, "tail: perplexity at or above this percentile (cc_net PerplexityBucket)",
                                 ge=1, le=99)  # fmt: skip
    keep_buckets: tuple[str, ...] = param(
        ("head", "middle"), "buckets kept (RedPajama-v1: head, middle); of head, middle, tail, all"
    )
    max_perplexity: float = param(0.0, "also drop above this perplexity; 0: off", ge=0.0)

    def __post_init__(self):
        for problem in _config_problems(self):
            raise ValueError(f"stage 'perplexity': {problem}")

    def model_files(self) -> dict[str, tuple[str, str]]:
        """(KenLM binary, SentencePiece model) per language."""
        folder = Path(self.model_dir or SHIPPED_MODEL_DIR)
        return {lang: (str(folder / f"{lang}.arpa.bin"), str(folder / f"{lang}.sp.model")) for lang in self.languages}

    def cutoffs_file(self) -> str:
        own = Path(self.model_dir or SHIPPED_MODEL_DIR) / "cutoff.csv"
        return self.cutoffs_path or (str(own) if own.is_file() else CCNET_CUTOFFS)


def _config_problems(cfg: PerplexityConfig) -> list[str]:
    unknown = [b for b in cfg.keep_buckets if b not in BUCKETS]
    problems = [f"keep_buckets: {b!r} is not one of {', '.join(BUCKETS)}" for b in unknown]
    if not cfg.keep_buckets:
        problems.append("keep_buckets is empty: every document would be dropped")
    if cfg.head_percentile >= cfg.tail_percentile:
        problems.append(f"head_percentile {cfg.head_percentile} must be below tail_percentile {cfg.tail_percentile}")
    if not cfg.languages:
        problems.append("languages is empty")
    hint = "" if cfg.model_dir else " (the shipped model is English only: set model_dir)"
    for paths in cfg.model_files().values():
        problems += [f"no such file: {p}{hint}" for p in paths if not Path(p).is_file()]
    if not problems:
        columns = read_cutoffs(cfg.cutoffs_file())
        missing = [lang for lang in cfg.languages if lang not in columns]
        if missing:
            problems.append(f"{cfg.cutoffs_file()} has no cutoffs for {missing}; it has {', '.join(columns)}")
    return problems


def read_cutoffs(path: str) -> dict[str, list[float]]:
    """CCNet's cutoff.csv: header `,lang1,lang2,...`, then one row per percentile 0..99 (the row's first cell)."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    languages = rows[0][1:]
    body = sorted(rows[1:], key=lambda r: int(r[0]))
    if [int(r[0]) for r in body] != list(range(100)):
        raise ValueError(f"{path}: expected rows for percentiles 0..99")
    return {lang: [float(r[i + 1]) for r in body] for i, lang in enumerate(languages)}


def load_model(arpa_bin: str, sp_model: str):
    """(SentencePiece, KenLM) from CCNet-format files: any KenLM binary or ARPA file, any SentencePiece model."""
    import kenlm
    import sentencepiece

    sp = sentencepiece.SentencePieceProcessor()
    sp.load(sp_model)
    return sp, kenlm.Model(arpa_bin)  # mmap'd (KenLM's default POPULATE_OR_READ): workers share the page cache


def pieces(sp, text: str) -> str:
    """What CCNet hands KenLM: normalized text as space-separated SentencePiece pieces."""
    return " ".join(sp.encode(normalize(text), out_type=str))


def perplexity(text: str, sp, lm, unit: str = "document") -> float | None:
    """cc_net DocLM.do on mine.py's `tokenized` field: None where CCNet records no perplexity."""
    if unit == "document":
        lines = pieces(sp, text).split("\n")
        if lines == [""]:  # DocLM.get_lines: an empty field gives no lines
            return None
    else:
        lines = [pieces(sp, line) for line in text.split("\n")] if text else []
        if not lines:
            return None
    log_score = sum(lm.score(line) for line in lines)  # log10, with <s> and </s> (KenLM's defaults)
    length = sum(len(line.split()) + 1 for line in lines)
    return round(10.0 ** (-log_score / length), 1)


def bucket_of(ppl: float | None, cutoffs: list[float] | None, head_percentile: int, tail_percentile: int) -> str:
    """cc_net PerplexityBucket.get_bucket."""
    if ppl is None or cutoffs is None:
        return "all"
    if ppl < cutoffs[head_percentile]:
        return "head"
    return "middle" if ppl < cutoffs[tail_percentile] else "tail"


def percentile_of(ppl: float | None, cutoffs: list[float] | None) -> float | None:
    """The highest percentile row the perplexity reaches, / 100: below row p's cutoff iff < p/100."""
    if ppl is None or cutoffs is None:
        return None
    return max(bisect.bisect_right(cutoffs, ppl) - 1, 0) / 100


def kept_boundary(config: dict) -> float | None:
    """The report's threshold on `perplexity_percentile`: the upper cutoff of the highest kept bucket."""
    keep = config.get("keep_buckets") or ()
    if "tail" in keep:
        return None
    if "middle" in keep:
        return config.get("tail_percentile", 60) / 100
    return config.get("head_percentile", 30) / 100 if "head" in keep else 0.0


PERPLEXITY_CONTRACT = Contract(
    needs=("text",),
    drop_reasons=("head", "middle", "tail", "all"),
    signals=(Signal("perplexity_percentile", kept_boundary),),  # the threshold follows keep_buckets
    adds=("perplexity", "ccnet_bucket", "perplexity_percentile"),
)


@register("perplexity", PerplexityConfig, contract=PERPLEXITY_CONTRACT)
class Perplexity:
    """CCNet's KenLM perplexity per document and its head/middle/tail bucket; keep the configured buckets."""

    def __init__(self, cfg: PerplexityConfig):
        self.cfg = cfg
        self.models = {lang: load_model(*files) for lang, files in cfg.model_files().items()}  # once per worker
        table = read_cutoffs(cfg.cutoffs_file())
        self.cutoffs = {lang: table[lang] for lang in cfg.languages}

    def __call__(self, batch: pa.Table) -> pa.Table:
        texts = batch.column("text").to_pylist()
        languages = self._languages(batch)
        ppls = [self._score(text, lang) for text, lang in zip(texts, languages)]
        cutoffs = [self.cutoffs.get(lang) for lang in languages]
        cfg = self.cfg
        buckets = [bucket_of(p, c, cfg.head_percentile, cfg.tail_percentile) for p, c in zip(ppls, cutoffs)]
        reasons = [None if self._keep(p, b) else f"perplexity.{b}" for p, b in zip(ppls, buckets)]
        batch = set_column(batch, "perplexity", pa.array(ppls, type=pa.float64()))
        batch = set_column(batch, "ccnet_bucket", pa.array(buckets, type=pa.string()))
        percentiles = [percentile_of(p, c) for p, c in zip(ppls, cutoffs)]
        batch = set_column(batch, "perplexity_percentile", pa.array(percentiles, type=pa.float32()))
        return with_drop_reasons(batch, reasons)

    def _languages(self, batch: pa.Table) -> list[str]:
        if "language" in batch.column_names:
            return batch.column("language").to_pylist()
        if len(self.cfg.languages) == 1:  # no language stage before: every document is of the one language
            return [self.cfg.languages[0]] * batch.num_rows
        raise ValueError("perplexity: no `language` column (run the language stage first) and several languages")

    def _score(self, text: str | None, language: str | None) -> float | None:
        model = self.models.get(language)
        return perplexity(text or "", *model, self.cfg.unit) if model else None

    def _keep(self, ppl: float | None, bucket: str) -> bool:
        if bucket not in self.cfg.keep_buckets:
            return False
        return not self.cfg.max_perplexity or ppl is None or ppl <= self.cfg.max_perplexity
