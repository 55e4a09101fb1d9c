"""`ray job submit` to a real `ray start --head` cluster on loopback runs the same job as the local mode."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.ray, pytest.mark.slow]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ray_head():
    """A Ray head started by this test (`--block`, own session); stopped by PID, never with `ray stop`."""
    temp_dir = tempfile.mkdtemp(prefix="rt", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    gcs, dashboard, agent = _free_port(), _free_port(), _free_port()
    env = dict(
        os.environ,
        RAY_USAGE_STATS_ENABLED="0",
        RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0",
        RAY_AUTH_MODE="disabled",
        PATH=f"{BIN}:{os.environ['PATH']}",
    )
    command = [
        str(BIN / "ray"),
        "start",
        "--head",
        "--block",
        f"--port={gcs}",
        "--node-ip-address=127.0.0.1",
        "--dashboard-host=127.0.0.1",
        f"--dashboard-port={dashboard}",
        f"--dashboard-agent-listen-port={agent}",
        "--include-dashboard=true",
        "--num-cpus=2",
        f"--temp-dir={temp_dir}",
        "--disable-usage-stats",
    ]
    head = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    address = f"http://127.0.0.1:{dashboard}"
    try:
        _wait_for_dashboard(address, head)
        yield address, env
    finally:
        processes = [psutil.Process(head.pid), *psutil.Process(head.pid).children(recursive=True)]
        head.terminate()
        _, alive = psutil.wait_procs(processes, timeout=20)
        for p in alive:
            p.kill()
        shutil.rmtree(temp_dir, ignore_errors=True)


def _wait_for_dashboard(address: str, head: subprocess.Popen) -> None:
    import urllib.request

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if head.poll() is not None:
            raise AssertionError(f"ray start exited with {head.returncode}")
        try:
            with urllib.request.urlopen(f"{address}/api/version", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError("the Ray dashboard did not come up")


def test_ray_job_submit_runs_the_pipeline_on_a_cluster(ray_head, tmp_path):
    address, env = ray_head
    out = tmp_path / "out"
    submit = [
        str(BIN / "ray"),
        "job",
        "submit",
        "--address",
        address,
        "--working-dir",
        ".",
        "--",
        "python",
        "-m",
        "pipeline",
        "run",
        "stages.yaml",
        "--output",
        str(out),
    ]
    result = subprocess.run(submit, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "succeeded" in result.stdout + result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["conservation"]["ok"]
    assert report["totals"]["records_read"] == 29
    assert report["totals"]["errors"] == {"read.truncated": 1}


def test_the_readme_cluster_walkthrough_runs_as_written(tmp_path):
    """scripts/cluster_walkthrough.sh: two `ray start` nodes, `ray job submit`, `ray job stop` mid-run, the same
    command submitted again resumes and finishes (its output is quoted in the README)."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("the walkthrough needs root and iproute2 (ip netns) for its private network namespace")
    out = tmp_path / "out"
    done = subprocess.run(
        ["bash", "scripts/cluster_walkthrough.sh", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=500
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    resumed = [line for line in done.stdout.splitlines() if "already committed" in line]
    assert resumed and not resumed[0].startswith("48 input files: 0 already"), done.stdout
    assert "Job 'cc-run-2' succeeded" in done.stdout + done.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["conservation"]["ok"] and report["totals"]["records_read"] == 48 * 15
