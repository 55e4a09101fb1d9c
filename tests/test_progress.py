"""Progress (issue 13 item 4): a file task reports how far it is while it runs, the ETA comes from bytes read,
and the display is plain lines when the output is not a terminal."""

from __future__ import annotations

import shutil
import sys

from pipeline.config import load
from pipeline.filepass import process_file
from pipeline.progress import Display, FileProgress, ProgressBoard, StepDisplay, Throttled, estimate
from tests.conftest import FIXTURES, ROOT

sys.path.insert(0, str(FIXTURES))
from make_fixtures import WarcWriter, utf8_page  # noqa: E402


def _big_warc(path, pages: int = 60) -> None:
    w = WarcWriter(path.name, file_no=5)
    w.warcinfo("progress test")
    for i in range(pages):
        body = "".join(f"<p>Sentence {k} of page {i}, long enough to be kept as text.</p>" for k in range(40))
        w.page(f"https://site.example/{i}", utf8_page(f"<html><body><article>{body}</article></body></html>"), None)
    w.write(path)


def test_a_file_task_reports_records_kept_and_bytes_as_it_goes(tmp_path):
    warc = tmp_path / "big.warc.gz"
    _big_warc(warc)
    config = load(ROOT / "stages.yaml").with_overrides(output=str(tmp_path / "out"), batch_size=16)
    for sub in ("docs", "dropped", "stats", "work"):
        (tmp_path / "out" / sub).mkdir(parents=True)
    reports = []
    stats = process_file(0, str(warc), config, progress=lambda *values: reports.append(values))
    assert len(reports) >= 2  # the first batch at once, and the final one
    index, path, records, kept, read, size = reports[-1]
    assert (index, path, records, kept) == (0, str(warc), stats["records_read"], stats["kept"])
    assert read == size == warc.stat().st_size
    assert [r[2] for r in reports] == sorted(r[2] for r in reports) and reports[0][2] == 16


def test_throttled_reports_the_first_call_and_then_at_most_every_interval():
    calls = []
    never_again = Throttled(calls.append, every_s=3600)
    for i in range(5):
        never_again(i)
    always = Throttled(calls.append, every_s=0)
    for i in range(3):
        always(10 + i)
    assert calls == [0, 10, 11, 12]


def test_the_eta_comes_from_bytes_read_and_sizes_seen():
    board = ProgressBoard()
    board.update(0, "a", records=100, kept=50, bytes_read=1000, bytes_total=1000)
    board.finish(0)
    board.update(0, "a", records=1, kept=1, bytes_read=1, bytes_total=1000)  # late: ignored
    board.update(1, "b", records=30, kept=10, bytes_read=250, bytes_total=1000)
    est = estimate(board.snapshot(), files_total=4, files_done=1, elapsed=10.0)
    assert est["read"] == 1250 and est["total"] == 4000 and est["rate"] == 125.0 and est["eta"] == 22.0
    assert list(board.snapshot()["in_flight"]) == [1]


def test_plain_display_prints_a_line_per_file_with_the_bytes_eta():
    lines = []
    display = Display(files_total=2, echo=lines.append, live=False)
    display.refresh({"in_flight": {1: FileProgress("b", 3, 1, 500, 1000)}, "done_bytes": 0, "done_sizes": []})
    stats = {"file": "a.warc.gz", "records_read": 7, "kept": 3, "status": "ok", "dropped": {"x": 4}, "errors": {}}
    display.file_done(stats)
    assert lines[-1].startswith("[1/2 files] a.warc.gz: 7 records, 3 kept, 4 dropped, 0 errors | run: 7 records")
    assert "ETA " in lines[-1] and "ETA ?" not in lines[-1]


def test_step_display_counts_tasks():
    lines = []
    step = StepDisplay("exact_dedup", "split_files", 4, lines.append, live=False)
    step.task_done()
    assert step.line().startswith("exact_dedup: split_files 1/4 tasks")


def test_no_progress_callback_is_needed(tmp_path):
    config = load(ROOT / "stages.yaml").with_overrides(output=str(tmp_path / "out"))
    for sub in ("docs", "dropped", "stats", "work"):
        (tmp_path / "out" / sub).mkdir(parents=True)
    shutil.copy(FIXTURES / "warc" / "plain.warc", tmp_path / "plain.warc")
    assert process_file(0, str(tmp_path / "plain.warc"), config)["status"] == "ok"
