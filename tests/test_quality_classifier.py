"""`quality_classifier` and `train-quality`: a tiny fastText model trained in-process, the shipped model,
clear errors, input formats, the group-aware split, and the CLI end to end (deterministic)."""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.batch import READ_SCHEMA
from filters.quality_classifier import DEFAULT_MODEL, QualityClassifier, QualityClassifierConfig
from filters.quality_train import Doc, TrainParams, read_documents, split_train_test, train_quality
from tests.conftest import ROOT

WIKI_WORDS = "the empire century river treaty dynasty province battle cathedral species physicist born".split()
SPAM_WORDS = "buy cheap discount click free shipping deal coupon order now sale offer".split()
WIKI_LIKE = (
    "The cathedral was built in the twelfth century on the site of an earlier church. It was rebuilt after a fire "
    "in 1194, and its west front is considered one of the finest examples of Gothic architecture in France. The "
    "building was listed as a historic monument in 1862 and restored by the architect Viollet-le-Duc."
)
SPAMMY = "BUY NOW!!! Cheap pills, best price, free shipping. Click here, limited offer, order today!!! " * 3
TINY = TrainParams(epoch=30, lr=0.5, dim=8, bucket=1000, minCount=1, min_chars=0, test_frac=0.25)


def synthetic(words: list[str], n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(words) for _ in range(12)) for _ in range(n)]


@pytest.fixture(scope="module")
def tiny_files(tmp_path_factory):
    """Blank-line-separated .txt documents: 40 'wiki' and 40 'spam' texts of random words."""
    folder = tmp_path_factory.mktemp("quality")
    pos, neg = folder / "pos.txt", folder / "neg.txt"
    pos.write_text("\n\n".join(synthetic(WIKI_WORDS, 40, 1)) + "\n")
    neg.write_text("\n\n".join(synthetic(SPAM_WORDS, 40, 2)) + "\n")
    return pos, neg


@pytest.fixture(scope="module")
def tiny_model(tiny_files, tmp_path_factory):
    pos, neg = tiny_files
    output = tmp_path_factory.mktemp("model") / "tiny.bin"
    report = train_quality([str(pos)], [str(neg)], str(output), TINY)
    return output, report


def batch(texts: list[str | None]) -> pa.Table:
    columns = {name: pa.nulls(len(texts), READ_SCHEMA.field(name).type) for name in READ_SCHEMA.names}
    columns["text"] = pa.array(texts, type=pa.large_string())
    return pa.table(columns, schema=READ_SCHEMA)


def test_training_reports_counts_and_held_out_metrics(tiny_model):
    _, report = tiny_model
    assert report.counts["train"] == {"positive": 30, "negative": 30}
    assert report.counts["held_out"] == {"positive": 10, "negative": 10}
    assert report.held_out["at_0.5"]["accuracy"] >= 0.9  # disjoint vocabularies: easily separable


def test_training_twice_in_one_process_gives_the_same_model(tiny_files, tmp_path):
    # fastText reads memory it never initialised: without zeroed_allocations() this gave different models
    # (or "Encountered NaN") once anything else had used the heap (numpy, pyarrow, an earlier training)
    pos, neg = tiny_files
    for name in ("a.bin", "b.bin", "c.bin"):
        train_quality([str(pos)], [str(neg)], str(tmp_path / name), TINY)
    assert (tmp_path / "a.bin").read_bytes() == (tmp_path / "b.bin").read_bytes() == (tmp_path / "c.bin").read_bytes()


def test_stage_keeps_and_drops_as_the_threshold_says(tiny_model):
    path, _ = tiny_model
    texts = ["the empire river dynasty treaty cathedral", "cheap discount click buy coupon sale", "", None]
    stage = QualityClassifier(QualityClassifierConfig(model_path=str(path), label="wiki", min_score=0.5))
    out = stage(batch(texts))
    scores = out.column("quality_score").to_pylist()
    assert out.schema.field("quality_score").type == pa.float32()
    assert scores[0] > 0.9 and scores[1] < 0.1
    assert all(0.0 <= s <= 1.0 for s in scores)
    expected = [None if s >= 0.5 else "quality_classifier.low_score" for s in scores]
    assert out.column("drop_reason").to_pylist() == expected
    keep_all = QualityClassifier(QualityClassifierConfig(model_path=str(path), min_score=0.0))
    assert keep_all(batch(texts)).column("drop_reason").null_count == len(texts)


def test_newlines_do_not_change_the_score(tiny_model):
    stage = QualityClassifier(QualityClassifierConfig(model_path=str(tiny_model[0])))
    out = stage(batch(["the empire river\n\ndynasty  treaty", "the empire river dynasty treaty"]))
    first, second = out.column("quality_score").to_pylist()
    assert first == second


def test_empty_batch_gets_a_typed_column(tiny_model):
    stage = QualityClassifier(QualityClassifierConfig(model_path=str(tiny_model[0])))
    out = stage(READ_SCHEMA.empty_table())
    assert out.num_rows == 0 and out.schema.field("quality_score").type == pa.float32()


def test_unknown_label_is_a_clear_error(tiny_model):
    with pytest.raises(ValueError, match="__label__hq.*__label__wiki"):
        QualityClassifier(QualityClassifierConfig(model_path=str(tiny_model[0]), label="__label__hq"))


def test_missing_model_is_a_clear_error(tmp_path):
    missing = tmp_path / "no-model.bin"
    with pytest.raises(FileNotFoundError, match=f"quality_classifier: model file not found: {missing}"):
        QualityClassifier(QualityClassifierConfig(model_path=str(missing)))


def test_shipped_model_prefers_wikipedia_prose_to_spam():
    stage = QualityClassifier(QualityClassifierConfig())
    assert stage.cfg.model_path == "" and DEFAULT_MODEL.endswith("quality_wiki_vs_crawl.ftz")
    wiki, spam = stage(batch([WIKI_LIKE, SPAMMY])).column("quality_score").to_pylist()
    assert wiki > 0.5 > spam
    assert wiki > spam + 0.5


def test_reads_txt_jsonl_gz_and_parquet(tmp_path):
    (tmp_path / "a.txt").write_text("one\nstill one\n\n\n two \n")
    with gzip.open(tmp_path / "b.jsonl.gz", "wt") as f:
        f.write(json.dumps({"text": "x", "group": "g"}) + "\n\n" + json.dumps({"text": "y"}) + "\n")
    pq.write_table(pa.table({"text": ["p", "q"]}), tmp_path / "c.parquet")
    assert [d.text for d in read_documents(tmp_path / "a.txt")] == ["one\nstill one", " two "]
    assert read_documents(tmp_path / "b.jsonl.gz") == [Doc("x", "g"), Doc("y", "b.jsonl.gz#1")]
    assert [d.text for d in read_documents(tmp_path / "c.parquet")] == ["p", "q"]
    with pytest.raises(ValueError, match="unsupported input"):
        read_documents(tmp_path / "d.csv")


def test_split_keeps_groups_together_and_is_seeded():
    docs = [Doc(f"t{i}", f"g{i // 3}") for i in range(30)]
    train, test = split_train_test(docs, 0.2, seed=7)
    assert len(test) == 6 and not {d.group for d in train} & {d.group for d in test}
    assert split_train_test(docs, 0.2, seed=7) == (train, test)


def test_cli_trains_end_to_end_and_is_deterministic(tiny_files, tmp_path):
    pos, neg = tiny_files
    outputs = []
    for name in ("a.ftz", "b.ftz"):
        cmd = [sys.executable, "-m", "pipeline", "train-quality", "--positive", str(pos), "--negative", str(neg)]
        cmd += ["--output", str(tmp_path / name), "--quantize", "--dim", "8", "--bucket", "1000", "--epoch", "30"]
        cmd += ["--minCount", "1", "--min-chars", "0", "--seed", "3", "--cutoff", "1000"]
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        outputs.append(json.loads(done.stdout))
    assert (tmp_path / "a.ftz").read_bytes() == (tmp_path / "b.ftz").read_bytes()
    assert outputs[0]["held_out"] == outputs[1]["held_out"]
    assert outputs[0]["params"]["seed"] == 3 and outputs[0]["params"]["quantize"] is True


def test_cli_reports_a_missing_input_without_a_traceback(tmp_path):
    cmd = [sys.executable, "-m", "pipeline", "train-quality", "--positive", str(tmp_path / "none.txt")]
    cmd += ["--negative", str(tmp_path / "none.txt"), "--output", str(tmp_path / "m.bin")]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "none.txt" in done.stderr and "Traceback" not in done.stderr
