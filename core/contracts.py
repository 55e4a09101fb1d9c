"""What a stage is, in one file: the four kinds of stage, and the contract each one declares when it registers.

The kinds, by how the engine calls them (`register(name, Config, kind=..., contract=...)`, core/registry.py):

- `SourceStage` (kind "source"): `Stage(cfg)(path, file_index, retry)` yields one row dict per record of an input
  file (`read`). Exactly one, first.
- `BatchStage` (kind "map"): `Stage(cfg)(batch) -> batch`, the same rows with columns set and `drop_reason`
  filled for the rows it drops (`extract`, `language`, the classifiers). Built once per worker: a class loads
  its model in `__init__`.
- `DocFilter` (kind "filter"): `fn(doc, cfg) -> rule | None` judges one document (`Doc`: its text and lazily
  computed lines and words); consecutive filters run as one loop sharing one `Doc` (filters/chain.py).
- `CorpusStage` (kind "corpus"): `Stage(cfg).run(ctx)` after every input file is committed, over the committed
  parts (dedup, tokenize; core/corpus.py).

The `Contract` is everything else the engine, the order check and the report need to know about a stage, stated
where the stage is registered instead of discovered on it: what it needs from the stages before it and gives to
those after, whether it must be last, the rules it drops documents for, the columns whose histograms the report
draws (with the config field that thresholds each), the columns it adds to the kept documents, and whether a
corpus stage rewrites the documents or only reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Protocol

import pyarrow as pa

# What a stage can need from the stages before it (`Contract.needs`), as the order check names it.
PROVIDED = {
    "html": "HTTP bodies (the `read` stage)",
    "url": "the page URL (the `read` stage)",
    "text": "extracted text (the `extract` stage; WET records pass through it unchanged)",
}


class SourceStage(Protocol):
    def __call__(self, path: str, file_index: int, retry: Any = None) -> Iterator[dict]: ...


class BatchStage(Protocol):
    def __call__(self, batch: pa.Table) -> pa.Table: ...


class DocFilter(Protocol):
    def __call__(self, doc: Any, cfg: Any) -> str | None: ...


class CorpusStage(Protocol):
    def run(self, ctx: Any) -> None: ...


@dataclass(frozen=True)
class Signal:
    """A per-document value the report draws as a histogram, with the threshold the stage applies to it: the name
    of a config field, or a function of the config (a threshold that depends on several fields)."""

    column: str
    threshold: str | Callable[[Any], float | None]

    def threshold_of(self, config: dict) -> float | None:
        """The threshold for a stage config given as a dict (as report.json holds it)."""
        if callable(self.threshold):
            return self.threshold(config)
        return config.get(self.threshold)


@dataclass(frozen=True)
class Contract:
    """What a stage declares beside its code; `config.load` refuses an order that breaks it, before any work (a
    language filter on raw HTML drops every page; tokens written before a dedup stage still hold duplicates)."""

    needs: tuple[str, ...] = ()  # keys of PROVIDED that an earlier stage must provide
    provides: tuple[str, ...] = ()
    last: bool = False  # must be the last stage: what a later stage removed would still be in its output
    warn_after: tuple[tuple[str, str], ...] = ()  # (stage, why): a harmful order, warned about when that stage
    # comes earlier than this one
    drop_reasons: tuple[str, ...] = ()  # the rules it drops for; reported as "<stage>.<rule>"
    errors: tuple[str, ...] = ()  # what it counts as damaged input rather than a judgement ("read.truncated")
    signals: tuple[Signal, ...] = ()  # report histograms
    signal_values: Callable[[Any], dict[str, float]] | None = None  # a DocFilter's {column: value} for one doc
    adds: tuple[str, ...] = ()  # columns it adds to the kept documents
    agrees_with: tuple[tuple[str, str], ...] = ()  # (field, stage): this config field must equal that stage's
    # field of the same name when both are in the recipe (checked at config load)
    rewrites_docs: bool = True  # corpus stages: writes the documents (dedup); False: only reads them (tokenize)
