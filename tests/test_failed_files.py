"""A file that fails every time must not hold the whole crawl back (issue 12): under `max_failed_files` the
corpus stages run without it, the report and the exit code (3) name it, and a later run that can read it commits
it and redoes the corpus stages over every file."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyarrow.parquet as pq
import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.ray, pytest.mark.slow]

RECIPE = """\
input: [fixtures/warc/duplicates.warc.gz, fixtures/warc/mixed.warc.gz, "http://127.0.0.1:{port}/late.warc.gz"]
io_attempts: 1
io_retry_delay_s: 0
max_failed_files: {allowed}
stages:
  - stage: read
  - stage: extract
  - stage: exact_dedup
  - stage: tokenize
"""


def _free_port() -> int:
    """A loopback port nothing listens on (a connection to it is refused: a transient failure, retried once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(tmp_path, port: int, allowed: int) -> subprocess.CompletedProcess:
    config = tmp_path / "stages.yaml"
    config.write_text(RECIPE.format(port=port, allowed=allowed))
    cmd = [sys.executable, "-m", "pipeline", "run", str(config), "--output", str(tmp_path / "out"), "--num-cpus", "2"]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)


class _Serve(BaseHTTPRequestHandler):
    body = (ROOT / "fixtures" / "warc" / "large_page.warc.gz").read_bytes()

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def test_the_corpus_stages_wait_for_a_failed_file_by_default(tmp_path):
    result = _run(tmp_path, _free_port(), allowed=0)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "dedup stages wait until every input file is committed" in result.stdout
    assert not (tmp_path / "out" / "tokens").exists()


def test_max_failed_files_goes_on_without_it_and_a_later_run_takes_it_back(tmp_path):
    port = _free_port()
    first = _run(tmp_path, port, allowed=1)
    assert first.returncode == 3, first.stdout + first.stderr
    assert "late.warc.gz" in first.stderr and "ran without these 1 files" in first.stderr
    out = tmp_path / "out"
    report = json.loads((out / "report.json").read_text())
    assert report["totals"]["files_failed"] == 1
    assert [f["file"] for f in report["files"] if f["status"] == "failed"] == [f"http://127.0.0.1:{port}/late.warc.gz"]
    rebuilt = subprocess.run([sys.executable, "-m", "pipeline", "report", str(out)], cwd=ROOT, capture_output=True)
    assert rebuilt.returncode == 0 and json.loads((out / "report.json").read_text())["totals"]["files_failed"] == 1
    kept_without = pq.read_table(out / "docs").num_rows
    assert kept_without == report["totals"]["kept"] > 0
    assert json.loads((out / "tokens" / "manifest.json").read_text())["shards"]

    server = ThreadingHTTPServer(("127.0.0.1", port), _Serve)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        second = _run(tmp_path, port, allowed=1)
    finally:
        server.shutdown()
        server.server_close()
    assert second.returncode == 0, second.stdout + second.stderr
    assert "redoing them" in second.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["totals"]["files_failed"] == 0 and report["conservation"]["ok"]
    docs = pq.read_table(out / "docs")
    assert docs.num_rows == report["totals"]["kept"] > kept_without
    assert any(doc_id >> 32 == 2 for doc_id in docs.column("doc_id").to_pylist())  # the late file is in
    manifest = json.loads((out / "tokens" / "manifest.json").read_text())
    assert sum(s["documents"] for s in manifest["shards"]) == docs.num_rows
