"""Stage order (issue 13): `check` refuses an order that cannot give the right data, before any work, with file
and line; it warns on a harmful one; and with every order it accepts, the token shards hold exactly the kept
documents (run in-process: the per-file pass once, then the corpus stages of each order)."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from core import storage
from pipeline import engine
from pipeline.config import ConfigError, load
from pipeline.filepass import process_file
from pipeline.report import write_report
from tests.conftest import ROOT, write_config

HEAD = "input: [fixtures/warc/duplicates.warc.gz, fixtures/warc/mixed.warc.gz]\nstages:\n"


def _recipe(*stages: str) -> str:
    return HEAD + "".join(f"  - stage: {s}\n" for s in stages)


@pytest.mark.parametrize(
    "stages, line, fragments",
    [
        (("read", "language", "extract"), 4, ["'language' needs extracted text", "`extract` stage"]),
        (("read", "language"), 4, ["'language' needs extracted text"]),
        (("read", "tokenize"), 4, ["'tokenize' needs extracted text"]),
        (("read", "tokenize", "extract"), 4, ["'tokenize' needs extracted text"]),
        (("read", "extract", "tokenize", "exact_dedup"), 5, ["'tokenize' must be the last stage", "'exact_dedup'"]),
        (("read", "extract", "exact_dedup", "language"), 6, ["'language' after corpus stage 'exact_dedup'"]),
        (("read", "extract", "gopher_quality", "extract"), 6, ["'extract' appears twice"]),
    ],
)
def test_an_impossible_order_is_refused_with_file_and_line(tmp_path, stages, line, fragments):
    with pytest.raises(ConfigError) as err:
        load(write_config(tmp_path, _recipe(*stages)))
    assert f"stages.yaml:{line}:" in str(err.value)
    for fragment in fragments:
        assert fragment in str(err.value)


def test_check_refuses_before_any_work_and_warns_on_a_harmful_order(tmp_path):
    refused = write_config(tmp_path, _recipe("read", "extract", "tokenize", "exact_dedup"))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "pipeline"]
    for args in (["check", str(refused)], ["run", str(refused), "--output", str(out)]):
        result = subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=ROOT)
        assert result.returncode == 2 and "must be the last stage" in result.stderr
        assert not out.exists()
    harmful = tmp_path / "harmful.yaml"
    harmful.write_text(_recipe("read", "extract", "line_dedup", "minhash_dedup", "tokenize"))
    result = subprocess.run([*cmd, "check", str(harmful)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "warning: " in result.stderr and "harmful.yaml:6: stage 'minhash_dedup' after 'line_dedup'" in result.stderr


def _accepted_orders() -> list[tuple[str, ...]]:
    """Every order of a subset of the corpus stages with tokenize somewhere, that `load` accepts."""
    orders = []
    dedups = ("exact_dedup", "minhash_dedup", "line_dedup")
    for k in range(len(dedups) + 1):
        for chosen in itertools.permutations(dedups, k):
            for at in range(len(chosen) + 1):
                orders.append((*chosen[:at], "tokenize", *chosen[at:]))
    return orders


def test_only_tokenize_last_is_accepted(tmp_path):
    for corpus_order in _accepted_orders():
        body = _recipe("read", "extract", *corpus_order)
        if corpus_order[-1] == "tokenize":
            load(write_config(tmp_path, body))
        else:
            with pytest.raises(ConfigError, match="must be the last stage"):
                load(write_config(tmp_path, body))


@pytest.fixture(scope="module")
def per_file_pass(tmp_path_factory):
    """The per-file pass (read, extract) over the fixtures, committed as a run with corpus stages would leave it."""
    folder = tmp_path_factory.mktemp("order")
    config = load(write_config(folder, _recipe("read", "extract", "exact_dedup", "tokenize"))).with_overrides(
        output=str(folder / "out")
    )
    files = [str(ROOT / "fixtures" / "warc" / name) for name in ("duplicates.warc.gz", "mixed.warc.gz")]
    for sub in ("docs", "dropped", "stats", "work"):
        (folder / "out" / sub).mkdir(parents=True)
    for i, path in enumerate(files):
        process_file(i, path, config)
    return folder / "out", files


def _sequential(label, retried):
    return lambda fn, args_list: [fn(*args) for args in args_list]


@pytest.mark.parametrize("corpus_order", [o for o in _accepted_orders() if o[-1] == "tokenize"], ids="-".join)
def test_with_every_accepted_order_the_shards_hold_exactly_the_kept_documents(tmp_path, per_file_pass, corpus_order):
    committed, files = per_file_pass
    out = tmp_path / "out"
    shutil.copytree(committed, out)
    config = load(write_config(tmp_path, _recipe("read", "extract", *corpus_order))).with_overrides(output=str(out))
    if config.per_file_docs_folder != "work/filtered":  # no stage rewrites the documents: the pass wrote docs/
        shutil.rmtree(out / "docs")
        (out / "work" / "filtered").rename(out / config.per_file_docs_folder)
    fs, _ = storage.filesystem(str(out))
    assert engine._prepare_output(fs, str(out), config, files) == []  # run.json; every file committed
    engine._run_corpus_stages(fs, config, files, _sequential, lambda line: None)
    report = write_report(fs, str(out))
    kept = pq.read_table(out / "docs", columns=["doc_id"]).column("doc_id").to_pylist()
    shards = pq.read_table(out / "tokens" / "shards", columns=["doc_id"]).column("doc_id").to_pylist()
    assert sorted(shards) == sorted(kept) and len(kept) == len(set(kept)) == report["totals"]["kept"] > 0
    assert report["conservation"]["ok"]


def test_the_pre_pass_must_keep_the_languages_the_language_stage_keeps(tmp_path):
    body = (
        "input: [a.warc.gz]\nstages:\n  - stage: read\n  - stage: language_prepass\n    languages: [en, de]\n"
        "  - stage: extract\n  - stage: language\n    languages: [en]\n"
    )
    with pytest.raises(ConfigError, match=r"stages.yaml:4: stage 'language_prepass': languages \['en', 'de'\] diff"):
        load(write_config(tmp_path, body))
    assert load(write_config(tmp_path, body.replace("[en, de]", "[en]"))).stages[1].name == "language_prepass"
