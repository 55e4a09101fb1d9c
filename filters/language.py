"""`language`: fastText language identification (lid.176), keep listed languages above a score.

Records `language` (top-1 label) and `language_score` for every document that reaches it, kept or not,
so the report can histogram the scores. The model ships in `filters/assets/` (CC BY-SA 3.0, NOTICE.md);
nothing is downloaded. Like CCNet, the document's text is classified as one line (newlines -> spaces).
Threshold: FineWeb keeps `en` at 0.65; CCNet used 0.5. The quantized .ftz scores short English about
0.76 (measured on our machines; BENCHMARKS.md "Language ID"), so 0.65 is strict for short pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from core.batch import set_column, with_drop_reasons
from core.contracts import Contract, Signal
from core.registry import param, register

DEFAULT_MODEL = str(Path(__file__).parent / "assets" / "lid.176.ftz")


@dataclass(frozen=True)
class LanguageConfig:
    languages: tuple[str, ...] = param(("en",), "ISO 639 codes to keep; empty keeps any language above min_score")
    min_score: float = param(
        0.65, "minimum fastText probability of the top language (FineWeb 0.65, CCNet 0.5)", ge=0.0, le=1.0
    )
    model_path: str = param("", "fastText LID model file (.bin or .ftz); empty: the shipped lid.176.ftz", is_file=True)


LANGUAGE_CONTRACT = Contract(
    needs=("text",),
    drop_reasons=("other_language", "low_score"),
    signals=(Signal("language_score", "min_score"),),
    adds=("language", "language_score"),
)


def load_lid_model(model_path: str, stage: str):
    """The fastText LID model (empty path: the shipped lid.176.ftz), once per worker task: 0.02 s for the .ftz."""
    import fasttext

    model_path = model_path or DEFAULT_MODEL
    if not Path(model_path).is_file():
        raise FileNotFoundError(f"{stage}: model file not found: {model_path}")
    return fasttext.load_model(model_path)


@register("language", LanguageConfig, contract=LANGUAGE_CONTRACT)
class LanguageFilter:
    """Label each document's language with fastText lid.176; drop other languages and low scores."""

    def __init__(self, cfg: LanguageConfig):
        self.cfg = cfg
        self.model = load_lid_model(cfg.model_path, "language")

    def __call__(self, batch: pa.Table) -> pa.Table:
        texts = [(t or "").replace("\n", " ") for t in batch.column("text").to_pylist()]
        labels, scores = self.model.predict(texts, k=1) if texts else ([], [])
        languages = [lab[0].removeprefix("__label__") for lab in labels]
        language_scores = [round(float(s[0]), 4) for s in scores]
        reasons = [self._decide(lang, score) for lang, score in zip(languages, language_scores)]
        batch = set_column(batch, "language", pa.array(languages, type=pa.string()))
        batch = set_column(batch, "language_score", pa.array(language_scores, type=pa.float32()))
        return with_drop_reasons(batch, reasons)

    def _decide(self, language: str, score: float) -> str | None:
        if self.cfg.languages and language not in self.cfg.languages:
            return "language.other_language"
        if score < self.cfg.min_score:
            return "language.low_score"
        return None
