"""A contract over the whole registry: every stage builds from defaults, takes an empty batch, keeps the
schema and the row count, and its config round-trips through YAML."""

from __future__ import annotations

import dataclasses
import inspect
import re
import sys

import pyarrow as pa
import pytest
import yaml

from core.batch import READ_SCHEMA
from core.registry import REGISTRY
from pipeline.config import StageSpec, load
from pipeline.steps import build_steps
from tests.conftest import write_config

MAP_STAGES = [n for n in REGISTRY.names() if REGISTRY.get(n).kind in ("map", "filter")]


def _step(name: str):
    (step,) = build_steps([StageSpec(name, REGISTRY.get(name).config_cls(), line=1)])
    return step


def _one_doc() -> pa.Table:
    row = dict.fromkeys(READ_SCHEMA.names)
    row.update(
        doc_id=1,
        id="<urn:uuid:1>",
        url="http://example.com/",
        source="x.warc@0",
        html=b"<html><body><article><p>"
        + b"The quick brown fox jumps over the lazy dog. " * 40
        + b"</p></article></body></html>",
        content_length=100,
    )
    return pa.Table.from_pylist([row], schema=READ_SCHEMA)


@pytest.mark.parametrize("name", MAP_STAGES)
def test_stage_takes_empty_batch_and_keeps_schema(name):
    out, stats = _step(name)(READ_SCHEMA.empty_table())
    assert out.num_rows == 0
    assert [s.name for s in stats] == [name]
    assert set(READ_SCHEMA.names) <= set(out.column_names)


def test_stages_in_sequence_keep_row_count_and_columns():
    table = _one_doc()
    for name in MAP_STAGES:
        out, stats = _step(name)(table)
        assert out.num_rows == table.num_rows, name
        assert stats[0].docs_in == table.num_rows, name
        assert set(table.column_names) <= set(out.column_names), name
        table = out


@pytest.mark.parametrize("name", REGISTRY.names())
def test_default_config_round_trips_through_yaml(tmp_path, name):
    cfg = REGISTRY.get(name).config_cls()
    fields = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cfg).items()}
    before = [{"stage": s} for s in ("read", "extract") if s != name and s in _needed_before(name)]
    text = yaml.safe_dump({"input": ["x"], "stages": before + [{"stage": name, **fields}]})
    loaded = load(write_config(tmp_path, text))
    assert loaded.stages[-1].config == cfg


def _needed_before(name: str) -> set[str]:
    """The stages a minimal recipe needs before `name`: read always, extract when it needs extracted text."""
    return {"read", "extract"} if "text" in REGISTRY.get(name).contract.needs else {"read"}


def test_registry_rejects_duplicates_and_names_valid_stages():
    with pytest.raises(ValueError, match="registered twice"):
        REGISTRY.add("read", REGISTRY.get("read").config_cls, "source", object, REGISTRY.get("read").contract)
    with pytest.raises(KeyError, match="available stages: read, c4_quality, extract, fineweb_quality"):
        REGISTRY.get("nope")


@pytest.mark.parametrize("name", REGISTRY.names())
def test_every_reason_a_stage_writes_is_in_its_contract(name):
    """Each "<stage>.<rule>" literal in the stage's module is a rule its contract declares, so the report, the
    docs and the order check list every drop a stage can make (the runtime check: test_fixtures.py)."""
    entry = REGISTRY.get(name)
    source = inspect.getsource(sys.modules[entry.impl.__module__])
    written = set(re.findall(rf"""["']{name}\.([a-z0-9_]+)["']""", source))
    assert written <= set(entry.contract.drop_reasons) | set(entry.contract.errors)
    if entry.kind not in ("filter", "corpus") and name != "perplexity":  # those name the stage elsewhere
        assert written, f"{name}: no drop reason found in its module; test the reasons another way"
