"""The full default recipe with its output on s3:// (moto's S3 server on 127.0.0.1): committed parts, dedup
work files, token shards and reports all land in the bucket, and the counts equal a local run's."""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import FIXTURES, ROOT

pytestmark = pytest.mark.ray
N_RESTART_FILES = 10  # enough that the restart lands mid-run (it comes after 2 commits), few for a loaded machine


class MotoS3:
    """moto's S3 server on 127.0.0.1; `restart` takes it down and brings it back on the same port (its objects
    live in this process, so they survive, as on a real server with a disk)."""

    def __init__(self):
        from moto.server import ThreadedMotoServer

        self._make = lambda port: ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.server = self._make(0)
        self.server.start()
        self.port = self.server._server.server_port
        self.env = dict(
            os.environ,
            AWS_ACCESS_KEY_ID="test",
            AWS_SECRET_ACCESS_KEY="test",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_ENDPOINT_URL=f"http://127.0.0.1:{self.port}",
            AWS_EC2_METADATA_DISABLED="true",
        )

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.env["AWS_ENDPOINT_URL"],
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def restart(self, down_s: float) -> int:
        """Stop the server, then come back on the same port once it has been down `down_s` seconds AND a client
        has met it down (so the run under test surely sees the outage, however slow a loaded machine makes it).
        While down, connections are accepted and reset at once, as a crashed server's kernel would; returns
        how many were. (The hang guard is the test's timeout.)"""
        self.server.stop()
        refused = _resetting_listener(self.port)
        deadline = time.monotonic() + down_s
        while time.monotonic() < deadline or refused.count == 0:
            time.sleep(0.05)
        refused.close()
        self.server = self._make(self.port)
        self.server.start()
        return refused.count


class _resetting_listener:  # noqa: N801 (used like a function)
    """Accept every connection on 127.0.0.1:`port` and reset it at once (SO_LINGER 0), counting them."""

    def __init__(self, port: int):
        self.count = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(64)
        self.sock.settimeout(0.05)
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            self.count += 1

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.sock.close()


@pytest.fixture
def moto_s3():
    pytest.importorskip("moto.server")
    s3 = MotoS3()
    yield s3
    s3.server.stop()


def _keys(s3, bucket: str) -> set[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"] for page in pages for o in page["Contents"]}


def test_full_recipe_writes_its_output_to_s3(moto_s3):
    s3, s3_env = moto_s3.client(), moto_s3.env
    s3.create_bucket(Bucket="runs")
    cmd = [sys.executable, "-m", "pipeline", "run", "stages.yaml", "--output", "s3://runs/cc-1"]
    result = subprocess.run(cmd, cwd=ROOT, env=s3_env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(s3.get_object(Bucket="runs", Key="cc-1/report.json")["Body"].read())
    assert report["conservation"]["ok"]
    assert report["totals"]["records_read"] == 29 and report["totals"]["kept"] == 15
    manifest = json.loads(s3.get_object(Bucket="runs", Key="cc-1/tokens/manifest.json")["Body"].read())
    keys = _keys(s3, "runs")
    assert {f"cc-1/{s['path'].replace('shards/', 'tokens/shards/')}" for s in manifest["shards"]} <= keys
    assert not [k for k in keys if ".tmp-" in k], "temporary objects left behind"
    verify = subprocess.run(
        [sys.executable, "-m", "pipeline", "tokens", "verify", "s3://runs/cc-1"],
        cwd=ROOT,
        env=s3_env,
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


@pytest.mark.timeout(1800)  # a hang guard only: at a load average of 20 on 2 cores the run alone took ~10 min
def test_inputs_and_output_on_s3_survive_a_server_restart_mid_run(moto_s3):
    """Inputs and output in the bucket; once the first files are committed the S3 server goes down for 3 s and
    comes back on the same port. botocore's own retries are off (AWS_MAX_ATTEMPTS=1), so that the pipeline's
    retries are what carries the run through."""
    s3 = moto_s3.client()
    s3.create_bucket(Bucket="restarts")  # moto keeps every bucket made in this process: one of its own
    for i in range(N_RESTART_FILES):
        s3.upload_file(str(FIXTURES / "warc" / "mixed.warc.gz"), "restarts", f"segment/crawl-{i:03d}.warc.gz")
    cmd = [sys.executable, "-m", "pipeline", "run", "stages.yaml", "--output", "s3://restarts/out"]
    cmd += ["--input", "s3://restarts/segment/*.warc.gz"]
    env = dict(moto_s3.env, AWS_MAX_ATTEMPTS="1")
    run = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    committed = lambda: s3.list_objects_v2(Bucket="restarts", Prefix="out/stats/").get("KeyCount", 0)  # noqa: E731
    deadline = time.monotonic() + 120
    while committed() < 2 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert committed() < N_RESTART_FILES, "the run was done before the restart: nothing was tested"
    assert moto_s3.restart(down_s=3) >= 1  # the run met the server down
    output, _ = run.communicate(timeout=1500)
    assert run.returncode == 0, output[-3000:]
    report = json.loads(s3.get_object(Bucket="restarts", Key="out/report.json")["Body"].read())
    assert report["conservation"]["ok"] and report["totals"]["files"] == N_RESTART_FILES
    # copies of one file: the per-file pass keeps 7 documents of each, exact dedup all but one copy's.
    assert report["totals"]["records_read"] == N_RESTART_FILES * 15 and report["totals"]["kept"] == 7
    assert sum(report["totals"]["io_retries"].values()) >= 1, report["totals"]["io_retries"]
    assert not [k for k in _keys(s3, "restarts") if ".tmp-" in k], "temporary objects left behind"
