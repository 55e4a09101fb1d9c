"""Bounded work per record (issue 22): one CPU budget a record across the stages, every exception the record's
own error, and a watchdog that kills a task stuck in a C call or over its memory ceiling, after which the
retry skips the record as quarantined and commits. The watchdog tests run the file task in a child process, as a
Ray worker would, and run it again as Ray's retry would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.batch import READ_SCHEMA
from core.record_guard import RecordGuard
from core.timelimit import TimeLimitExceeded, time_limit
from tests.conftest import FIXTURES, ROOT
from tests.hostile_stage import HostileConfig, HostileStage

sys.path.insert(0, str(FIXTURES))
from make_fixtures import WarcWriter  # noqa: E402

CLEAN_TEXT = "A clean page of plain text that every stage keeps.\nIts second line.\n"


def _spin() -> None:
    while True:
        pass


# ---------------------------------------------------------------- the guard in one process


def test_a_record_that_spins_in_python_is_an_error_and_the_budget_is_shared_across_stages():
    guard = RecordGuard(cpu_budget_s=0.3)
    assert guard.run(7, "extract", _spin) == (None, "cpu_budget")
    assert guard.run(7, "filters", lambda: "more work") == (None, "cpu_budget")  # nothing left for this record
    assert guard.run(8, "filters", lambda: "fine") == ("fine", None)  # another record has its own budget
    guard.end_batch()
    assert guard.run(7, "filters", lambda: "next batch") == ("next batch", None)


def test_an_exception_is_the_records_error():
    guard = RecordGuard()
    assert guard.run(1, "extract", lambda: 1 / 0) == (None, "exception")
    assert guard.run(2, "extract", lambda: (_ for _ in ()).throw(MemoryError())) == (None, "memory")


def test_a_stage_limit_inside_a_record_budget_leaves_the_budget_armed():
    guard = RecordGuard(cpu_budget_s=0.5)

    def inner_limit_then_spin():
        try:
            with time_limit(0.1):
                _spin()
        except TimeLimitExceeded:
            pass  # the stage's own limit (extract's timeout_s) fired and was handled
        _spin()  # the record's budget must still stop this

    assert guard.run(3, "extract", inner_limit_then_spin) == (None, "cpu_budget")


def _batch(texts: list[str]) -> pa.Table:
    rows = [dict.fromkeys(READ_SCHEMA.names) | {"doc_id": i, "text": t, "url": f"u{i}"} for i, t in enumerate(texts)]
    return pa.Table.from_pylist(rows, schema=READ_SCHEMA)


def test_a_stage_that_raises_on_one_record_costs_only_that_record():
    from pipeline.steps import MapStep

    class RaisesOnOne:
        def __call__(self, batch: pa.Table) -> pa.Table:  # no guard: a batch-level stage (a model)
            if "RAISE" in "".join(t or "" for t in batch.column("text").to_pylist()):
                raise ValueError("boom")
            return batch.append_column("score", pa.array([1.0] * batch.num_rows))

    texts = ["ok"] * 37 + ["RAISE"] + ["ok"] * 26
    after, (stats,) = MapStep("scorer", RaisesOnOne())(_batch(texts))
    reasons = after.column("drop_reason").to_pylist()
    assert reasons == [None] * 37 + ["error:scorer.exception"] + [None] * 26
    assert after.column("score").to_pylist()[36:39] == [1.0, None, 1.0]
    assert stats.dropped == {"error:scorer.exception": 1} and stats.docs_out == 63


def test_a_stage_that_raises_on_every_record_fails_loudly():
    from pipeline.steps import MapStep

    def broken(batch: pa.Table) -> pa.Table:
        raise FileNotFoundError("the model file is missing")

    with pytest.raises(FileNotFoundError):
        MapStep("broken", broken)(_batch(["a", "b", "c"]))


def test_a_filter_that_raises_is_an_error_of_that_filter_and_counts_add_up():
    from filters.chain import FilterChain

    def fine(doc, cfg):
        return None

    def raises_on_marker(doc, cfg):
        if "RAISE" in doc.text:
            raise RuntimeError("a filter bug on a rare shape")
        return "too_short" if len(doc.text) < 3 else None

    chain = FilterChain([("first", fine, None, None), ("second", raises_on_marker, None, None)])
    after, stats = chain(_batch(["fine text", "RAISE here", "x"]))
    assert after.column("drop_reason").to_pylist() == [None, "error:second.exception", "second.too_short"]
    first, second = stats
    assert (first.docs_in, first.docs_out, second.docs_in, second.docs_out) == (3, 3, 3, 1)
    assert second.dropped == {"error:second.exception": 1, "second.too_short": 1}


def test_the_hostile_stage_without_a_watchdog_turns_python_spins_and_exceptions_into_errors():
    stage = HostileStage(HostileConfig())
    after = stage(_batch(["fine", "SPIN-IN-PYTHON", "RAISE", "fine"]), RecordGuard(cpu_budget_s=0.3))
    assert after.column("drop_reason").to_pylist() == [
        None,
        "error:hostile_test.cpu_budget",
        "error:hostile_test.exception",
        None,
    ]


# ---------------------------------------------------------------- the watchdog, the quarantine and the retry

CHILD = """
import json, sys
sys.path.insert(0, sys.argv[3])
from tests.hostile_stage import register_hostile_stage
register_hostile_stage()  # in this process only, as an installed plugin would be
from core import storage
from pipeline.config import load
config = load(sys.argv[2])
output = config.options.output
fs = storage.filesystem(output)[0]
if sys.argv[1] == "file":  # what `pipeline run` does for one input file: run.json, then the file task
    from pipeline.engine import _prepare_output
    from pipeline.filepass import process_file
    _prepare_output(fs, output, config, list(config.options.input))
    print(json.dumps(process_file(0, config.options.input[0], config)))
else:
    from pipeline.report import write_report
    print(json.dumps(write_report(fs, output)))
"""


def _wet(path: Path, hostile: str | None) -> None:
    w = WarcWriter(path.name, file_no=3)
    w.conversion("https://clean.example/1", CLEAN_TEXT, "en", "<urn:uuid:1>")
    if hostile:
        w.conversion("https://hostile.example/", f"text with {hostile} inside\n", "en", "<urn:uuid:2>")
    w.conversion("https://clean.example/2", CLEAN_TEXT.upper(), "en", "<urn:uuid:3>")
    w.write(path)


def _config(tmp_path: Path, hostile: str | None, name: str) -> Path:
    warc = tmp_path / f"{name}.warc.gz"
    _wet(warc, hostile)
    yaml = tmp_path / f"{name}.yaml"
    yaml.write_text(
        f"input: [{warc}]\noutput: {tmp_path / name}\nrecord_cpu_budget_s: 1\nmax_task_memory_mb: 600\n"
        "stages:\n  - stage: read\n  - stage: hostile_test\n"
    )
    return yaml


def _attempt(yaml: Path, mode: str = "file") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(yaml), str(ROOT)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )


def _kept_texts(out: Path) -> list[str]:
    return pq.read_table(out / "docs" / "part-000000.parquet").column("text").to_pylist()


@pytest.mark.parametrize("marker,reason", [("SPIN-IN-C", "cpu"), ("EAT-MEMORY", "memory")])
def test_a_record_that_kills_its_worker_is_quarantined_and_the_retry_commits_the_file(tmp_path, marker, reason):
    yaml = _config(tmp_path, marker, "hostile")
    first = _attempt(yaml)
    assert first.returncode == -9, first.stderr[-2000:]  # killed by the watchdog, as the OOM killer would
    quarantine = json.loads((tmp_path / "hostile" / "quarantine" / "part-000000.json").read_text())
    (entry,) = quarantine["records"]
    assert (entry["ordinal"], entry["url"], entry["stage"], entry["reason"]) == (
        1,
        "https://hostile.example/",
        "hostile_test",
        reason,
    )
    assert not (tmp_path / "hostile" / "stats").exists() or not list((tmp_path / "hostile" / "stats").iterdir())

    retry = _attempt(yaml)
    assert retry.returncode == 0, retry.stderr[-2000:]
    stats = json.loads(retry.stdout.splitlines()[-1])
    assert stats["errors"] == {f"quarantined.{reason}": 1}
    assert stats["records_read"] == 3 and stats["kept"] == 2
    assert [q["ordinal"] for q in stats["quarantined"]] == [1]

    clean = _config(tmp_path, None, "clean")
    assert _attempt(clean).returncode == 0
    assert _kept_texts(tmp_path / "hostile") == _kept_texts(tmp_path / "clean")  # the good records, as in a clean file


def test_the_report_lists_every_quarantined_record(tmp_path):
    yaml = _config(tmp_path, "SPIN-IN-C", "hostile")
    assert _attempt(yaml).returncode == -9
    assert _attempt(yaml).returncode == 0
    done = _attempt(yaml, "report")
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.splitlines()[-1])
    assert [(q["ordinal"], q["url"], q["reason"]) for q in report["quarantined"]] == [
        (1, "https://hostile.example/", "cpu")
    ]
    assert report["totals"]["errors"] == {"quarantined.cpu": 1} and report["conservation"]["ok"]
    assert "Quarantined records" in (tmp_path / "hostile" / "report.md").read_text()


def test_a_file_with_more_poison_records_than_retries_is_run_again_while_its_quarantine_grows(tmp_path):
    """`run_again` stands in for a round of Ray tasks on a file with 3 poison records: each round its watchdog
    quarantines one more, until the round that commits."""
    from core import quarantine
    from pipeline.engine import rerun_after_quarantine

    out, files = str(tmp_path), ["a.warc.gz", "b.warc.gz"]
    rounds = []

    def run_again(todo):
        rounds.append([path for _, path in todo])
        done = len(quarantine.load(quarantine.path_for(out, 0)))
        if done == 3:
            return []  # every poison record is skipped now: the file commits
        quarantine.add_entry(quarantine.path_for(out, 0), {"ordinal": 10 + done, "stage": "extract", "reason": "cpu"})
        return [("a.warc.gz", "WorkerCrashedError")]

    quarantine.add_entry(quarantine.path_for(out, 0), {"ordinal": 10, "stage": "extract", "reason": "cpu"})
    failed = [("a.warc.gz", "WorkerCrashedError"), ("b.warc.gz", "OSError: gone for good")]
    assert rerun_after_quarantine(out, files, failed, run_again, echo=lambda line: None) == [failed[1]]
    assert rounds == [["a.warc.gz"]] * 3  # b has no quarantine: never run again


def test_a_run_with_an_unreadable_input_exits_3_not_0():
    """A file that is not a WARC at all is committed as `status: error`; a scheduler must not see success."""
    from pipeline.engine import RunResult

    def report(*statuses: str) -> dict:
        return {"conservation": {"ok": True}, "files": [{"status": s, "message": None} for s in statuses]}

    assert RunResult(report("ok", "ok")).exit_code == 0
    assert RunResult(report("ok", "error")).exit_code == 3
    assert RunResult(report("ok", "error"), failed=[("x.warc.gz", "WorkerCrashedError")]).exit_code == 1


def test_a_watchdog_that_cannot_start_leaves_the_file_to_the_soft_limits(tmp_path, monkeypatch):
    """A worker without a usable temporary folder (or a process to spare) still commits its files."""
    from core import watchdog
    from pipeline.config import load
    from pipeline.filepass import process_file

    def no_watch(*args, **kwargs):
        raise OSError("no space left on device")

    monkeypatch.setattr(watchdog, "RecordWatch", no_watch)
    warc = tmp_path / "clean.warc.gz"
    _wet(warc, None)
    yaml = tmp_path / "clean.yaml"
    yaml.write_text(f"input: [{warc}]\noutput: {tmp_path / 'out'}\nstages:\n  - stage: read\n")
    stats = process_file(0, str(warc), load(str(yaml)))
    assert stats["kept"] == 2 and stats["errors"] == {}
