"""Token shards: specials policy, literal "<s>" stays text, ids that do not fit are an error; shards read
the same with pyarrow, DuckDB and datasets as the manifest says; decoding gives back the kept text; the
reader reads them (its ranks, epochs and resume: test_tokens_reader.py); both packers keep every token."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

from pipeline.tokens import DocumentReader, SequenceReader, pack_best_fit, pack_concat, verify
from tests.conftest import ROOT
from tokenization.tokenizer import DEFAULT_MODEL, Tokenizer, fit_ids


def test_specials_policies_and_literal_control_text():
    text = "A page that says <s> and </s> literally."
    (bos_eos,) = Tokenizer(specials="bos_eos").encode_batch([text])
    (eos_only,) = Tokenizer(specials="eos_only").encode_batch([text])
    (none,) = Tokenizer(specials="none").encode_batch([text])
    assert bos_eos[0] == 1 and bos_eos[-1] == 2 and eos_only[-1] == 2 and eos_only[0] != 1
    assert list(bos_eos[1:-1]) == list(none) == list(eos_only[:-1])
    assert 1 not in none and 2 not in none  # the literal "<s>"/"</s>" never become control tokens
    assert bos_eos.dtype == np.uint16


def test_ids_that_do_not_fit_are_an_error():
    assert fit_ids([1, 65535], np.uint16).dtype == np.uint16
    with pytest.raises(ValueError, match="token id 70000 does not fit the uint16"):
        fit_ids([1, 70000], np.uint16)


def test_missing_tokenizer_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="tokenizer file not found"):
        Tokenizer(str(tmp_path / "nope.model"))


RECIPE = """\
input: [fixtures/warc/*.warc.gz, fixtures/warc/*.warc, fixtures/wet/*.wet.gz]
stages:
  - stage: read
  - stage: extract
  - stage: language
  - stage: exact_dedup
  - stage: tokenize
    shard_tokens: 2500
    row_group_tokens: 1000
    buckets: 2
"""


@pytest.fixture(scope="module")
def run_out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tokens")
    config = folder / "stages.yaml"
    config.write_text(RECIPE)
    out = folder / "out"
    cmd = [sys.executable, "-m", "pipeline", "run", str(config), "--output", str(out), "--num-cpus", "2"]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.mark.ray
def test_manifest_matches_pyarrow_duckdb_and_datasets(run_out):
    import datasets
    import duckdb

    manifest = json.loads((run_out / "tokens" / "manifest.json").read_text())
    assert verify(str(run_out)) == []
    assert len(manifest["shards"]) > 1 and manifest["bos_id"] == 1 and manifest["eos_id"] == 2
    table = pq.read_table(run_out / "tokens" / "shards")
    assert table.schema.field("tokens").type.value_type == "uint16"
    assert table.num_rows == manifest["documents"]
    assert sum(len(t) for t in table.column("tokens").to_pylist()) == manifest["tokens"]
    shards = str(run_out / "tokens" / "shards" / "*.parquet")
    assert duckdb.sql(f"SELECT sum(num_tokens) FROM '{shards}'").fetchall()[0][0] == manifest["tokens"]
    ds = datasets.load_dataset("parquet", data_files=shards, split="train")
    assert len(ds) == manifest["documents"] and sum(ds["num_tokens"]) == manifest["tokens"]


@pytest.mark.ray
def test_decoding_gives_back_the_kept_text(run_out):
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(DEFAULT_MODEL))
    docs = {r["doc_id"]: r["text"] for r in pq.read_table(run_out / "docs").to_pylist()}
    tokens = pq.read_table(run_out / "tokens" / "shards").to_pylist()
    assert sorted(docs) == sorted(r["doc_id"] for r in tokens)
    for row in tokens:
        assert sp.decode(row["tokens"][1:-1]) == docs[row["doc_id"]]


@pytest.mark.ray
def test_cli_tokens_verify_detects_a_changed_shard(run_out, tmp_path):
    def verify_cli(out):
        cmd = [sys.executable, "-m", "pipeline", "tokens", "verify", str(out)]
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)

    ok = verify_cli(run_out)
    assert ok.returncode == 0 and "agree" in ok.stdout
    copy = tmp_path / "out"
    shutil.copytree(run_out / "tokens", copy / "tokens")
    shutil.copy(run_out / "run.json", copy / "run.json")  # `tokens` refuses a folder that is not a run's output
    shard = sorted((copy / "tokens" / "shards").iterdir())[0]
    table = pq.read_table(shard)
    pq.write_table(table.slice(1), shard)  # one document lost
    bad = verify_cli(copy)
    assert bad.returncode == 1 and shard.name in bad.stdout


@pytest.mark.ray
def test_reader_reads_the_pipeline_shards(run_out):
    """On real shards (uint16, several files): one epoch reads every document once; ranks get as many sequences
    (more in test_tokens_reader.py)."""
    tokens = pq.read_table(run_out / "tokens" / "shards").column("tokens").to_pylist()
    total = sum(map(len, tokens))
    docs = list(DocumentReader(str(run_out), seed=3))
    assert docs[0].dtype == np.uint16 and sum(map(len, docs)) == total
    assert sorted(d.tobytes() for d in docs) == sorted(np.array(t, np.uint16).tobytes() for t in tokens)
    counts = [len(list(SequenceReader(str(run_out), rank, 2, seed=3, seq_len=128))) for rank in (0, 1)]
    assert counts == [total // 256] * 2


def test_packers_keep_every_token():
    docs = [np.arange(n) + 10 for n in (5, 17, 3, 40, 8, 1)]
    concat = list(pack_concat(iter(docs), 16))
    assert all(s["input_ids"].shape == (16,) for s in concat)
    assert np.array_equal(np.concatenate([s["input_ids"] for s in concat]), np.concatenate(docs)[: 16 * len(concat)])
    best = list(pack_best_fit(iter(docs), 16, pad_id=0))
    real = sorted(int(x) for s in best for x in s["input_ids"] if x != 0)
    assert real == sorted(int(x) for d in docs for x in d)
    for s in best:
        assert s["cu_seqlens"][-1] == 16 and s["position_ids"][0] == 0
