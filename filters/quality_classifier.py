"""`quality_classifier`: a fastText linear classifier's p(label) per document; drop pages below `min_score`.

LLaMA-1 (arXiv 2302.13971 §2, CommonCrawl): "a linear model to classify pages used as references in
Wikipedia v.s. randomly sampled pages, and discarded pages not classified as references". RedPajama-v1
re-did it with fastText and kept wiki_prob >= 0.25 (its data_prep/cc/filter/cc_classifier.sh); DCLM's
`__label__hq` model is a fastText file too, so the stage takes any fastText model: `model_path`, the `label`
to read, and `min_score`.

Like CCNet/DCLM and our `language` stage, a document is fed to fastText as one line (newlines -> spaces);
one `predict` call per batch. Records `quality_score` (float32, p(label); 0.0 where the model gives the
label no mass) for every document that reaches the stage. Drop: `quality_classifier.low_score`.

The default model (empty `model_path`) ships in `filters/assets/quality_wiki_vs_crawl.ftz` (2.3 MB), trained
by `python -m pipeline train-quality` on WikiText-2 + CCNet-head positives vs 449 English crawl pages: 0.965
held-out accuracy at 0.25, 2% of crawl pages kept. No text of pages cited by Wikipedia (LLaMA's positives) is
available offline, so it learns "Wikipedia-like prose", not "reference quality": pages with bullet lists and
practical topics (recipes, gardening) score low. MODEL_CARD_quality.md has its data, command and limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from core.batch import set_column, with_drop_reasons
from core.contracts import Contract, Signal
from core.registry import param, register

DEFAULT_MODEL = str(Path(__file__).parent / "assets" / "quality_wiki_vs_crawl.ftz")
LABEL_PREFIX = "__label__"


def one_line(text: str | None) -> str:
    """What fastText sees of a document, in training and in the stage: one line, whitespace collapsed."""
    return " ".join((text or "").split())


def full_label(label: str) -> str:
    return label if label.startswith(LABEL_PREFIX) else LABEL_PREFIX + label


def load_model(path: str, stage: str = "quality_classifier"):
    """Load a fastText model file, or raise an error that names the stage and the path."""
    import fasttext

    if not Path(path).is_file():
        raise FileNotFoundError(f"{stage}: model file not found: {path}")
    return fasttext.load_model(path)


def label_scores(model, texts: list[str], label: str) -> list[float]:
    """p(label) for each text (already one line), from one batched `predict` over every label."""
    if not texts:
        return []
    labels, probs = model.predict(texts, k=-1)
    return [_score_of(label, labs, ps) for labs, ps in zip(labels, probs)]


def _score_of(label: str, labels, probs) -> float:
    for lab, p in zip(labels, probs):
        if lab == label:
            return min(float(p), 1.0)  # fastText's softmax can round a hair above 1
    return 0.0


@dataclass(frozen=True)
class QualityClassifierConfig:
    model_path: str = param(
        "",
        "fastText model file (.bin or .ftz); empty: the shipped quality_wiki_vs_crawl.ftz (MODEL_CARD_quality.md)",
        is_file=True,
    )
    label: str = param(
        "__label__wiki", "label whose probability is the score: __label__wiki (ours, LLaMA-1) or DCLM's __label__hq"
    )
    min_score: float = param(
        0.25, "keep documents with p(label) >= this (RedPajama-v1 cc_classifier.sh: wiki_prob >= 0.25)", ge=0.0, le=1.0
    )


QUALITY_CONTRACT = Contract(
    needs=("text",),
    drop_reasons=("low_score",),
    signals=(Signal("quality_score", "min_score"),),
    adds=("quality_score",),
)


@register("quality_classifier", QualityClassifierConfig, contract=QUALITY_CONTRACT)
class QualityClassifier:
    """Score each document with a fastText quality model (LLaMA-1: Wikipedia references vs random pages)."""

    def __init__(self, cfg: QualityClassifierConfig):
        self.cfg = cfg
        self.label = full_label(cfg.label)
        model_path = cfg.model_path or DEFAULT_MODEL
        self.model = load_model(model_path)  # once per worker task
        if self.label not in self.model.get_labels():
            raise ValueError(
                f"quality_classifier: label {self.label!r} is not in {model_path}; "
                f"its labels: {', '.join(self.model.get_labels())}"
            )

    def __call__(self, batch: pa.Table) -> pa.Table:
        texts = [one_line(t) for t in batch.column("text").to_pylist()]
        scores = label_scores(self.model, texts, self.label)
        reasons = [None if s >= self.cfg.min_score else "quality_classifier.low_score" for s in scores]
        batch = set_column(batch, "quality_score", pa.array(scores, type=pa.float32()))
        return with_drop_reasons(batch, reasons)
