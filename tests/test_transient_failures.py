"""Inputs over https:// from a server with Range support and a self-signed certificate (tests/servers.py),
failing on cue: a 503, a connection cut mid-body and a server restart are retried with backoff, the read
resumes at the byte where it stopped, the file's records come out as from a clean read, and every retry is
counted in the file's stats and in the report. A missing file is an error of that file alone. A file replaced
by a new version before the resume fails with ObjectChanged, uncommitted, instead of being spliced.

Each read runs in a subprocess, as the pipeline's workers do, with SSL_CERT_FILE naming the test certificate."""

from __future__ import annotations

import email.utils
import gzip
import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import FIXTURES, ROOT
from tests.servers import Fault, FlakyHTTPS, etag_of, members_reversed, self_signed_certificate

CLEAN_MIXED = dict(records_read=15, kept=7)
READ_ONE_FILE = """
import json, sys
from pipeline.config import load
from pipeline.filepass import process_file
config = load("stages.yaml").with_overrides(output=sys.argv[1], **json.loads(sys.argv[3]))
try:
    print(json.dumps(process_file(0, sys.argv[2], config)))
except Exception as e:
    print(json.dumps({"exception": type(e).__name__, "message": str(e)}))
"""


@pytest.fixture
def https(tmp_path):
    root = tmp_path / "www"
    (root / "crawl-data").mkdir(parents=True)
    for name in ("mixed.warc.gz", "duplicates.warc.gz"):
        shutil.copy(FIXTURES / "warc" / name, root / "crawl-data" / name)
    with gzip.open(root / "warc.paths.gz", "wt") as f:
        f.write("crawl-data/mixed.warc.gz\ncrawl-data/duplicates.warc.gz\n")
    cert, key = self_signed_certificate(tmp_path)
    server = FlakyHTTPS(root, cert, key)
    yield server
    server.stop()


def _env(server: FlakyHTTPS) -> dict:
    return dict(os.environ, SSL_CERT_FILE=str(server.cert))


def _read_one(server: FlakyHTTPS, tmp_path, url: str, **options) -> dict:
    options = {"io_retry_delay_s": 0.1, **options}
    command = [sys.executable, "-c", READ_ONE_FILE, str(tmp_path / "out"), url, json.dumps(options)]
    done = subprocess.run(command, cwd=ROOT, env=_env(server), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_a_503_a_cut_connection_and_a_restart_are_retried_and_the_read_resumes(https, tmp_path):
    path = "/crawl-data/mixed.warc.gz"
    https.faults[path] = [Fault(status=503), Fault(cut_after=8000), Fault(cut_after=20000, down_s=1.5)]
    stats = _read_one(https, tmp_path, https.url + path)
    assert {k: stats[k] for k in CLEAN_MIXED} == CLEAN_MIXED and stats["errors"] == {}
    retried = stats["io_retries"]
    assert retried["http.503"] == 1
    assert retried["connection.ConnectionResetError"] >= 2  # the two bodies cut short of their length
    assert retried["connection.ConnectionRefusedError"] >= 1  # while the server was down
    gets = [(r.range, r.what) for r in https.requests if r.path == path]
    # After each cut the read goes on from the byte it had reached, not from the start of the file...
    assert gets[:3] == [(None, "503"), (None, "cut at 8000"), ("bytes=8000-", "cut at 20000")]
    # The resume reads to the end; one more ranged read after it checks that the last record ends where its
    # Content-Length says (one past the end of the file would hide the records after it).
    assert gets[3] == ("bytes=28000-", "ok") and [what for _, what in gets[4:]] == ["ok"]
    # ... and only if the file is still the one it started on.
    etag = etag_of(str(https.root / "crawl-data" / "mixed.warc.gz"))
    assert [r.condition for r in https.requests if r.path == path and r.range] == [etag] * (len(gets) - 2)


def test_a_server_that_ignores_range_requests_still_resumes_at_the_right_byte(https, tmp_path):
    path = "/crawl-data/mixed.warc.gz"
    https.honor_range = False
    https.faults[path] = [Fault(cut_after=8000), Fault(cut_after=20000)]
    stats = _read_one(https, tmp_path, https.url + path)
    assert {k: stats[k] for k in CLEAN_MIXED} == CLEAN_MIXED and stats["errors"] == {}
    assert stats["io_retries"] == {"connection.ConnectionResetError": 2}


@pytest.mark.parametrize(
    "server, change",
    [
        (dict(), "ETag"),  # answers the stale If-Range with the whole new file (200)
        (dict(honor_if_range=False), "ETag"),  # ignores If-Range: 206 from the new file, with its new ETag
        (dict(etags=False, honor_if_range=False), "Last-Modified"),  # plain RangeHTTPServer
        (dict(honor_range=False), "ETag"),  # ignores Range: always the whole file
    ],
    ids=["if-range", "if-range-ignored", "last-modified-only", "range-ignored"],
)
def test_a_file_replaced_before_the_resume_fails_uncommitted_instead_of_being_spliced(https, tmp_path, server, change):
    path = "/crawl-data/mixed.warc.gz"
    for name, value in server.items():
        setattr(https, name, value)
    served = https.root / "crawl-data" / "mixed.warc.gz"
    old = served.read_bytes()
    validator = etag_of(str(served)) if https.etags else email.utils.formatdate(served.stat().st_mtime, usegmt=True)
    new = members_reversed(old)
    assert len(new) == len(old) and new != old  # the size alone cannot tell the versions apart
    https.faults[path] = [Fault(cut_after=8000, replace_with=new)]
    result = _read_one(https, tmp_path, https.url + path)
    assert result.get("exception") == "ObjectChanged", result
    message = result["message"]
    assert message.startswith(f"{https.url}{path} changed while it was read ({change} ")
    assert message.endswith("): not committed; run again to read the new version")
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file()], "something was committed"
    gets = [r for r in https.requests if r.path == path]
    assert len(gets) == 2 and gets[1].range == "bytes=8000-"  # one resume, refused: not retried
    assert gets[1].condition == validator  # the resume asked for the version the read started on
    if server == {}:
        assert gets[1].what == "ok, If-Range stale: whole file"


def test_a_missing_file_is_an_error_of_that_file_only_and_is_not_retried(https, tmp_path):
    stats = _read_one(https, tmp_path, https.url + "/crawl-data/gone.warc.gz")
    assert stats["status"] == "error" and "FileNotFoundError" in stats["message"]
    assert stats["records_read"] == 0 and stats["io_retries"] == {}
    assert len(https.requests) == 1


def test_a_server_that_stays_down_fails_the_file_after_its_retries(https, tmp_path):
    path = "/crawl-data/mixed.warc.gz"
    https.faults[path] = [Fault(status=503)] * 10
    result = _read_one(https, tmp_path, https.url + path, io_attempts=3, io_retry_delay_s=0.01)
    assert result["exception"] == "RetriesExhausted"
    assert "gave up after 3 tries" in result["message"] and "503" in result["message"]
    assert not (tmp_path / "out" / "stats").exists() or not list((tmp_path / "out" / "stats").iterdir())


@pytest.mark.ray
@pytest.mark.slow
def test_a_full_run_over_an_https_paths_list_counts_its_retries_in_the_report(https, tmp_path):
    https.faults["/crawl-data/duplicates.warc.gz"] = [Fault(status=503), Fault(cut_after=3000)]
    out = tmp_path / "out"
    command = [sys.executable, "-m", "pipeline", "run", "stages.yaml", "--output", str(out)]
    command += ["--input", f"{https.url}/warc.paths.gz", "--paths-base-url", https.url + "/"]
    done = subprocess.run(command, cwd=ROOT, env=_env(https), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["totals"]["io_retries"] == {"connection.ConnectionResetError": 1, "http.503": 1}
    assert report["conservation"]["ok"] and report["totals"]["files"] == 2
    assert "transient I/O failures retried: 2" in (out / "report.md").read_text()
