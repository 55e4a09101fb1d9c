"""`train-quality` says what it is doing (issue 13 item 7): progress lines on stderr while it reads, splits, trains
(fastText's own progress, relayed from the training child's stderr), quantizes and evaluates, and the model it
writes is byte-identical with or without them. Nothing here depends on how long anything takes."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from filters.quality_train import _LineRelay, read_documents, train_quality
from tests.conftest import ROOT
from tests.test_quality_classifier import TINY, tiny_files  # noqa: F401  (a module-scoped fixture)

FASTTEXT_OUTPUT = (
    b"\rRead 0M words\rRead 1M words\nNumber of words:  5001\nNumber of labels: 2\n"
    b"\rProgress:  10.0% words/sec/thread:  1000 lr:  0.45 avg.loss:  0.69 ETA:   0h 0m 9s"
    b"\rProgress:  50.0% words/sec/thread:  1000 lr:  0.25 avg.loss:  0.30 ETA:   0h 0m 5s"
    b"\rProgress: 100.0% words/sec/thread:  1000 lr:  0.00 avg.loss:  0.13 ETA:   0h 0m 0s\n"
)
FINAL_LINES = [
    "fastText: Read 1M words",
    "fastText: Number of words: 5001",
    "fastText: Number of labels: 2",
    "fastText: Progress: 100.0% words/sec/thread: 1000 lr: 0.00 avg.loss: 0.13 ETA: 0h 0m 0s",
]


class FakeClock:
    def __init__(self, step: float):
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.mark.parametrize("chunk", [1, 7, len(FASTTEXT_OUTPUT)])
def test_relay_passes_every_final_line_and_no_update_within_the_interval(chunk):
    lines: list[str] = []
    relay = _LineRelay(lines.append, "fastText: ", every_s=10.0, clock=FakeClock(step=0.0))  # time stands still
    for i in range(0, len(FASTTEXT_OUTPUT), chunk):
        relay.feed(FASTTEXT_OUTPUT[i : i + chunk])
    relay.close()
    assert lines == FINAL_LINES


def test_relay_passes_an_update_once_the_interval_has_passed():
    lines: list[str] = []
    relay = _LineRelay(lines.append, "fastText: ", every_s=10.0, clock=FakeClock(step=10.0))  # 10 s per segment
    relay.feed(FASTTEXT_OUTPUT + b"unfinished")
    relay.close()
    progress = [line.split("%")[0] for line in lines if "Progress" in line]
    assert progress == ["fastText: Progress: 10.0", "fastText: Progress: 50.0", "fastText: Progress: 100.0"]
    assert "fastText: Read 0M words" in lines and lines[-1] == "fastText: unfinished"


def test_relay_keeps_draining_when_progress_raises():
    def broken(line: str) -> None:
        raise RuntimeError("a closed terminal")

    relay = _LineRelay(broken, "", every_s=0.0, clock=FakeClock(step=1.0))
    relay.feed(FASTTEXT_OUTPUT)
    relay.close()
    assert relay.pending == b""


def test_reading_reports_each_file_at_its_end(tmp_path):
    (tmp_path / "a.txt").write_text("one\n\ntwo words\n\nthree more words\n")
    lines: list[str] = []
    docs = read_documents(tmp_path / "a.txt", min_chars=5, progress=lines.append)
    assert len(docs) == 2
    assert lines == ["  a.txt: 3 documents, 2 of at least 5 chars kept"]


def test_progress_lines_do_not_change_the_model(tiny_files, tmp_path):  # noqa: F811
    pos, neg = tiny_files
    params = replace(TINY, quantize=True, cutoff=1000)
    silent = train_quality([str(pos)], [str(neg)], str(tmp_path / "silent.ftz"), params, progress=None)
    lines: list[str] = []
    told = train_quality([str(pos)], [str(neg)], str(tmp_path / "told.ftz"), params, progress=lines.append)
    assert (tmp_path / "silent.ftz").read_bytes() == (tmp_path / "told.ftz").read_bytes()
    assert silent.held_out == told.held_out
    expected = [
        "reading positive file 1 of 1: ",
        "  pos.txt: 40 documents",
        "positive: 40 documents, split by group: 30 train, 10 held out",
        "reading negative file 1 of 1: ",
        "negative: 40 documents, split by group: 30 train, 10 held out",
        "writing the training file: 60 documents",
        "fastText: training (30 epochs",
        "fastText: Number of labels: 2",
        "fastText: Progress: 100.0%",  # training, then the retraining of quantize
        "fastText: quantizing (retrain",
        "fastText: Progress: 100.0%",
        "fastText: trained and quantized in ",
        "saved ",
        "evaluating on 20 held-out documents",
        "done",
    ]
    assert _in_order(expected, lines), "\n".join(lines)


def test_cli_prints_progress_on_stderr_and_writes_the_in_process_model(tiny_files, tmp_path):  # noqa: F811
    pos, neg = tiny_files
    cmd = [sys.executable, "-m", "pipeline", "train-quality", "--positive", str(pos), "--negative", str(neg)]
    cmd += ["--output", str(tmp_path / "cli.ftz"), "--quantize", "--dim", "8", "--bucket", "1000", "--epoch", "30"]
    cmd += ["--minCount", "1", "--min-chars", "0", "--test-frac", "0.25", "--cutoff", "1000"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    stderr = done.stderr.splitlines()
    assert all(line.startswith("train-quality: ") for line in stderr), done.stderr  # fastText's, relayed too
    steps = ["reading positive", "fastText: Progress: 100.0%", "fastText: quantizing", "evaluating on 20", "done"]
    assert _in_order([f"train-quality: {s}" for s in steps], stderr), done.stderr
    assert done.stdout.startswith("{")  # the report stays alone on stdout
    params = replace(TINY, quantize=True, cutoff=1000)
    train_quality([str(pos)], [str(neg)], str(tmp_path / "quiet.ftz"), params, progress=None)
    assert (tmp_path / "cli.ftz").read_bytes() == (tmp_path / "quiet.ftz").read_bytes()


def _in_order(prefixes: list[str], lines: list[str]) -> bool:
    """Each prefix starts some line, each after the line the previous prefix matched."""
    at = 0
    for prefix in prefixes:
        at = next((i + 1 for i in range(at, len(lines)) if lines[i].startswith(prefix)), None)
        if at is None:
            return False
    return True
