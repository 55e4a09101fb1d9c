"""Load and validate `stages.yaml` before any work starts.

The file is safe-loaded into a YAML node tree so every error can name the file and line:

    stages.yaml:14: stage 'language': unknown key 'min_scor'; valid keys: languages, min_score, model_path

Top-level keys are the fields of `RunOptions` plus `stages`, a list run in order; each item is
`{stage: NAME, <field>: <value>, ...}` where every other key is a field of that stage's config dataclass.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core.errors import ConfigError
from core.registry import PROVIDED, REGISTRY, param


@dataclass(frozen=True)
class RunOptions:
    input: tuple[str, ...] = param(
        (), "input files: paths, globs, s3://, https://, or CommonCrawl warc.paths(.gz) lists"
    )
    output: str = param("out", "output folder (local path or s3://)")
    paths_base_url: str = param("https://data.commoncrawl.org/", "prefix for relative entries of warc.paths lists")
    batch_size: int = param(256, "records per batch through the per-document stages", ge=1, le=100_000)
    max_batch_mb: int = param(64, "flush a batch early once its payloads reach this many MB (bounds memory)", ge=1)
    drop_samples_per_reason: int = param(20, "dropped documents kept as samples, per reason and input file", ge=0)
    max_retries: int = param(3, "times Ray re-runs a file whose worker died (SIGKILL, OOM, lost node)", ge=0)
    io_attempts: int = param(
        8, "tries of a remote read or write before giving up on a transient failure (503, dropped connection)", ge=1
    )
    io_retry_delay_s: float = param(0.5, "first wait before retrying a transient I/O failure; doubles each time", ge=0)
    max_task_memory_mb: int = param(
        1500, "memory of one worker: dedup and tokenize size their buckets so that no task needs more", ge=600
    )
    record_cpu_budget_s: float = param(
        20.0,
        "CPU seconds one record may use across every per-document stage; past it the record is an error "
        "(<stage>.cpu_budget) and its file goes on (core/record_guard.py). The slowest real page takes ~1 s",
        ge=0.1,
    )
    record_watchdog: bool = param(
        True,
        "a watchdog process per file task kills it when a record passes 1.5 x its budget + 2 s inside a C call, "
        "or the worker passes max_task_memory_mb; the retry skips the record as quarantined (core/watchdog.py)",
    )
    max_failed_files: int = param(
        0,
        "input files that may fail for good (after their retries) and still let dedup and tokenize run without "
        "them; they are named in the report and the exit code is 3; a later run retries them and, if they "
        "commit, redoes the corpus stages over every file",
        ge=0,
    )


@dataclass(frozen=True)
class StageSpec:
    name: str
    config: Any
    line: int


@dataclass(frozen=True)
class PipelineConfig:
    options: RunOptions
    stages: tuple[StageSpec, ...]
    path: str
    warnings: tuple[str, ...] = ()  # orders that run but do harm (file:line: why), printed by `check` and `run`

    def with_overrides(self, **overrides) -> PipelineConfig:
        given = {k: v for k, v in overrides.items() if v is not None}
        options = dataclasses.replace(self.options, **given)
        return dataclasses.replace(self, options=options)

    @property
    def corpus_stages(self) -> tuple[StageSpec, ...]:
        return tuple(s for s in self.stages if REGISTRY.get(s.name).kind == "corpus")

    @property
    def doc_stages(self) -> tuple[StageSpec, ...]:
        """Corpus stages that rewrite the documents (dedup); the last of them writes docs/."""
        return tuple(s for s in self.corpus_stages if REGISTRY.get(s.name).contract.rewrites_docs)

    @property
    def per_file_docs_folder(self) -> str:
        """Where the per-file pass writes kept documents: straight to docs/, or to work/ for the dedup stages."""
        return "work/filtered" if self.doc_stages else "docs"

    def stage_dicts(self) -> list[dict]:
        """The stages as plain data ({"stage": name, **fields}), for run.json and the report."""
        return json.loads(json.dumps([{"stage": s.name, **dataclasses.asdict(s.config)} for s in self.stages]))

    def fingerprint(self) -> str:
        """Hash of everything that decides the output (not where it goes): a resumed run must match it."""
        payload = {
            "stages": self.stage_dicts(),
            "batch_size": self.options.batch_size,
            "drop_samples_per_reason": self.options.drop_samples_per_reason,
            "max_task_memory_mb": self.options.max_task_memory_mb,  # decides the bucket counts, so the shards
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def load(path: str | Path) -> PipelineConfig:
    path = str(path)
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read config: {e.strerror}") from None
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    finally:
        loader.dispose()
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"{path}:1: the top level must be a mapping with a 'stages' list")
    try:
        return _parse_root(root, path)
    except ValueError as e:
        raise ConfigError(f"{path}: {e}") from None


def _parse_root(root: yaml.MappingNode, path: str) -> PipelineConfig:
    items = _mapping_items(root, path)
    stages_item = items.pop("stages", None)
    if stages_item is None:
        raise ConfigError(f"{path}:1: missing 'stages' (a list of {{stage: NAME, ...}})")
    options = build_config(RunOptions, items, path, "top level")
    stages, warnings = _parse_stages(stages_item[1], path)
    return PipelineConfig(options=options, stages=stages, path=path, warnings=warnings)


def _parse_stages(node: yaml.Node, path: str) -> tuple[tuple[StageSpec, ...], tuple[str, ...]]:
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        raise ConfigError(f"{path}:{_line(node)}: 'stages' must be a non-empty list")
    specs = []
    for item in node.value:
        if not isinstance(item, yaml.MappingNode):
            raise ConfigError(f"{path}:{_line(item)}: each stage must be a mapping like {{stage: extract}}")
        fields = _mapping_items(item, path)
        name_item = fields.pop("stage", None)
        if name_item is None:
            raise ConfigError(f"{path}:{_line(item)}: stage entry has no 'stage' key")
        name = _scalar(name_item[1])
        if name not in REGISTRY:
            raise ConfigError(
                f"{path}:{_line(name_item[1])}: unknown stage {name!r}; valid stages: {', '.join(REGISTRY.names())}"
            )
        entry = REGISTRY.get(name)
        config = build_config(entry.config_cls, fields, path, f"stage {name!r}")
        specs.append(StageSpec(name=name, config=config, line=_line(item)))
    warnings = _check_order(specs, path)
    return tuple(specs), tuple(warnings)


def _check_order(specs: list[StageSpec], path: str) -> list[str]:
    """Refuse an order that cannot give the right data (each stage's `Contract`); returns warnings for orders
    that run but do harm."""
    sources = [i for i, s in enumerate(specs) if REGISTRY.get(s.name).kind == "source"]
    if sources != [0]:
        line = specs[sources[1]].line if len(sources) > 1 else specs[0].line
        raise ConfigError(f"{path}:{line}: the first stage, and only it, must be a source stage (read)")
    seen: dict[str, StageSpec] = {}
    for spec in specs:
        if spec.name in seen:
            raise ConfigError(f"{path}:{spec.line}: stage {spec.name!r} appears twice")
        seen[spec.name] = spec
    _check_needs(specs, path)
    _check_corpus_last(specs, path)
    _check_agreement(specs, path)
    return _order_warnings(specs, path)


def _check_needs(specs: list[StageSpec], path: str) -> None:
    available: set[str] = set()
    for spec in specs:
        contract = REGISTRY.get(spec.name).contract
        missing = [need for need in contract.needs if need not in available]
        if missing:
            raise ConfigError(
                f"{path}:{spec.line}: stage {spec.name!r} needs {PROVIDED[missing[0]]}, and no stage before it "
                "provides that: move it after that stage, or add the stage"
            )
        available.update(contract.provides)


def _check_agreement(specs: list[StageSpec], path: str) -> None:
    """A field that must equal another stage's (the language pre-pass keeps the `language` stage's languages)."""
    by_name = {s.name: s for s in specs}
    for spec in specs:
        for field, other in REGISTRY.get(spec.name).contract.agrees_with:
            if other in by_name and getattr(spec.config, field) != getattr(by_name[other].config, field):
                raise ConfigError(
                    f"{path}:{spec.line}: stage {spec.name!r}: {field} {list(getattr(spec.config, field))} differs "
                    f"from stage {other!r}'s {list(getattr(by_name[other].config, field))} "
                    f"(line {by_name[other].line}): set both alike"
                )


def _check_corpus_last(specs: list[StageSpec], path: str) -> None:
    last = [s for s in specs if REGISTRY.get(s.name).contract.last]
    if last and last[0] is not specs[-1]:
        raise ConfigError(
            f"{path}:{last[0].line}: stage {last[0].name!r} must be the last stage: documents that a stage after it "
            f"removes ({specs[-1].name!r} here) would still be in its output"
        )
    kinds = [REGISTRY.get(s.name).kind for s in specs]
    first_corpus = kinds.index("corpus") if "corpus" in kinds else len(kinds)
    late = [s for s, k in zip(specs[first_corpus:], kinds[first_corpus:]) if k != "corpus"]
    if late:
        raise ConfigError(
            f"{path}:{late[0].line}: per-document stage {late[0].name!r} after corpus stage "
            f"{specs[first_corpus].name!r}: corpus stages run last, over the committed documents"
        )


def _order_warnings(specs: list[StageSpec], path: str) -> list[str]:
    position = {s.name: i for i, s in enumerate(specs)}
    warnings = []
    for i, spec in enumerate(specs):
        for earlier, why in REGISTRY.get(spec.name).contract.warn_after:
            if position.get(earlier, len(specs)) < i:
                warnings.append(f"{path}:{spec.line}: stage {spec.name!r} after {earlier!r}: {why}")
    return warnings


def build_config(cls: type, fields: dict[str, tuple[int, yaml.Node]], path: str, where: str):
    """Build `cls(**fields)` after checking every key, type and range; errors name the file and line."""
    hints = typing.get_type_hints(cls)
    valid = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, (line, node) in fields.items():
        if key not in valid:
            raise ConfigError(f"{path}:{line}: {where}: unknown key {key!r}; valid keys: {', '.join(valid) or 'none'}")
        field = next(f for f in dataclasses.fields(cls) if f.name == key)
        try:
            kwargs[key] = check_value(_to_python(node), hints[key], field.metadata)
        except ValueError as e:
            raise ConfigError(f"{path}:{line}: {where}: {key}: {e}") from None
    return cls(**kwargs)


def check_value(value: Any, hint: Any, meta: typing.Mapping) -> Any:
    value = _check_type(value, hint)
    if meta.get("is_file") and value and "://" not in value and not Path(value).is_file():
        raise ValueError(f"no such file: {value} (relative paths are relative to the current folder, {Path.cwd()})")
    choices = meta.get("choices")
    if choices and value not in choices:
        raise ValueError(f"{value!r} is not one of {', '.join(map(repr, choices))}")
    lo, hi = meta.get("ge"), meta.get("le")
    if lo is not None and value < lo or hi is not None and value > hi:
        raise ValueError(
            f"{value!r} is out of range [{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
        )
    return value


def _check_type(value: Any, hint: Any) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value is None and type(None) in args:
            return None
        return _check_type(value, next(a for a in args if a is not type(None)))
    if origin is tuple:
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            value = [value]  # a single item where a list is expected is a list of one
        return tuple(_check_type(v, args[0]) for v in value)
    if hint is int:
        value = _integral(value)
    expected = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}[hint]
    if not isinstance(value, expected) or (hint is not bool and isinstance(value, bool)):
        raise ValueError(f"expected {hint.__name__}, got {type(value).__name__} {value!r}")
    return float(value) if hint is float else value


def _integral(value: Any) -> Any:
    """`1e8` or `100000000.0` for an int field is the int: YAML reads `1e8` as a string (YAML 1.1 floats need a
    dot) and `1.0e+8` as a float, and the README writes counts like `1e8`."""
    if isinstance(value, str):
        try:
            value = float(value.replace("_", ""))
        except ValueError:
            return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _mapping_items(node: yaml.MappingNode, path: str) -> dict[str, tuple[int, yaml.Node]]:
    items: dict[str, tuple[int, yaml.Node]] = {}
    for key_node, value_node in node.value:
        key = _scalar(key_node)
        if key in items:
            raise ConfigError(f"{path}:{_line(key_node)}: key {key!r} is given twice")
        items[key] = (_line(key_node), value_node)
    return items


def _to_python(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError as e:
        raise ValueError(f"unsupported YAML value: {getattr(e, 'problem', e)}") from None
    finally:
        loader.dispose()


def _scalar(node: yaml.Node) -> str:
    return str(_to_python(node))


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1
