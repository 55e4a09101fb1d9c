"""One registry that maps the stage names used in `stages.yaml` to code.

A stage is registered with `@register("name", ConfigClass)`. What it decorates decides how it runs:
- a plain function `fn(batch: pa.Table, cfg) -> pa.Table` is stateless;
- a class `Cls(cfg)` with `__call__(batch) -> pa.Table` holds something costly (a model) and is
  built once per worker task, never per batch.
- a heuristic filter `fn(doc: Doc, cfg) -> str | None` registered with kind="filter" judges one document
  (None = keep, else the rule that dropped it); consecutive filters share one tokenization (filters/chain.py).
The source stage (`read`) is registered with `kind="source"`: it turns an input path into batches.
A corpus stage (dedup) is a class registered with kind="corpus": it runs after the per-file pass over the
committed parts (core/corpus.py).

Config classes are frozen dataclasses whose fields are declared with `param()`, so that the config
loader can check types and ranges and `python -m pipeline stages` can print every field with its help.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.metadata
from dataclasses import dataclass
from typing import Any, Callable, Literal

import pyarrow as pa

from core.contracts import PROVIDED, Contract

Stage = Callable[[pa.Table], pa.Table]
StageKind = Literal["source", "map", "filter", "corpus"]

# Stages are found through this entry-point group: this project's in pyproject.toml (`[project.entry-points]`), and
# any installed package can add its own the same way, as dolma's taggers plug in. The core names no stage module.
ENTRY_POINT_GROUP = "cc_pipeline.stages"


def param(
    default: Any, help: str, *, ge: float | None = None, le: float | None = None, choices=None, is_file: bool = False
):
    """A config field with its help text (cite the source of a threshold here) and its valid range. `is_file`: a
    path the stage will open; the config loader refuses a non-empty one that is not a readable file, so a missing
    model is a config error before any work, not a failure of every input file."""
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple for sequence defaults: configs are frozen")
    meta = {"help": help, "ge": ge, "le": le, "choices": tuple(choices) if choices else None, "is_file": is_file}
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True)
class StageEntry:
    name: str
    config_cls: type
    impl: Callable
    kind: StageKind
    doc: str
    contract: Contract = Contract()

    def build(self, cfg) -> Callable:
        """Instantiate the stage in the worker: classes load their model here, once."""
        if isinstance(self.impl, type):
            return self.impl(cfg)
        return functools.partial(self.impl, cfg=cfg)


class Registry:
    def __init__(self) -> None:
        self._entries: dict[str, StageEntry] = {}

    def add(self, name: str, config_cls: type, kind: StageKind, impl: Callable, contract: Contract) -> None:
        if name in self._entries:
            raise ValueError(f"stage name {name!r} is registered twice")
        if not dataclasses.is_dataclass(config_cls):
            raise TypeError(f"stage {name!r}: config must be a dataclass, got {config_cls!r}")
        unknown = set(contract.needs) - set(PROVIDED)
        if unknown:
            raise ValueError(f"stage {name!r} needs {sorted(unknown)}: not among {sorted(PROVIDED)}")
        doc = (impl.__doc__ or "").strip().splitlines()[0] if impl.__doc__ else ""
        self._entries[name] = StageEntry(name, config_cls, impl, kind, doc, contract)

    def registered(self, name: str) -> bool:
        """Whether a module imported so far registered `name` (no discovery: what discovery itself checks)."""
        return name in self._entries

    def get(self, name: str) -> StageEntry:
        load_stage_modules()
        if name not in self._entries:
            raise KeyError(f"unknown stage {name!r}; available stages: {', '.join(self.names())}")
        return self._entries[name]

    def names(self) -> list[str]:
        """Registered names as a run meets them: the source, the per-document stages, the corpus stages, a stage
        that must be last at the end; by name within each."""
        load_stage_modules()
        rank = {"source": 0, "map": 1, "filter": 1, "corpus": 2}
        return sorted(self._entries, key=lambda n: (rank[self._entries[n].kind], self._entries[n].contract.last, n))

    def __contains__(self, name: str) -> bool:
        load_stage_modules()
        return name in self._entries


REGISTRY = Registry()


def register(name: str, config_cls: type, kind: StageKind = "map", contract: Contract = Contract()):
    def decorate(impl):
        REGISTRY.add(name, config_cls, kind, impl, contract)
        return impl

    return decorate


@functools.cache
def load_stage_modules() -> tuple[str, ...]:
    """Import every module that the entry points name (once per process): importing one registers its stages."""
    modules = []
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            importlib.import_module(entry.module)
        except ImportError as e:
            raise ImportError(f"stage {entry.name!r}: cannot import {entry.module} ({e})") from e
        if not REGISTRY.registered(entry.name):
            raise RuntimeError(f"entry point {entry.name!r} = {entry.value!r} registers no stage of that name")
        modules.append(entry.module)
    if not modules:
        raise RuntimeError(f"no stage is installed (entry points {ENTRY_POINT_GROUP!r}): run `bash scripts/setup.sh`")
    return tuple(modules)
