"""Kill the run for real (SIGKILL to the driver, or to a worker mid-file), run the same command again, and
get exactly the output of an uninterrupted run: same kept documents, same report, nothing redone twice."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import FIXTURES, ROOT
from tests.faults import busy_worker, differences, fingerprint, kill_driver

pytestmark = [pytest.mark.ray, pytest.mark.slow]
N_FILES = 24


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    for i in range(N_FILES):
        shutil.copy(FIXTURES / "warc" / "mixed.warc.gz", folder / f"crawl-{i:03d}.warc.gz")
    return folder


@pytest.fixture(scope="module")
def clean_run(inputs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clean") / "out"
    subprocess.run(_command(inputs, out), cwd=ROOT, check=True, capture_output=True)
    return out


def _command(inputs: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "pipeline", "run", "stages.yaml", "--input", str(inputs), "--output", str(out)]


def _committed(out: Path) -> int:
    return len(list((out / "stats").glob("*.json"))) if (out / "stats").exists() else 0


def _wait_for(predicate, timeout_s: float = 120.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _assert_same_output(out: Path, clean: Path) -> None:
    """Docs, token shards, manifest and report byte-identical to the clean run; conservation; no temp file."""
    assert differences(out, fingerprint(clean)) == []
    ids = pq.read_table(out / "docs").column("doc_id").to_pylist()
    # 24 copies of one file: the per-file pass keeps 7 documents of each, exact_dedup all but the first copy's
    assert len(ids) == len(set(ids)) == 7


def test_sigkill_driver_then_rerun_gives_the_uninterrupted_output(inputs, clean_run, tmp_path):
    out = tmp_path / "out"
    driver = subprocess.Popen(_command(inputs, out), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    _wait_for(lambda: _committed(out) >= 3, what="3 committed files")
    kill_driver(driver)
    committed_before = {p.name: p.stat().st_mtime_ns for p in (out / "stats").glob("*.json")}
    assert 3 <= len(committed_before) < N_FILES, "the kill came too late to test anything"

    rerun = subprocess.run(_command(inputs, out), cwd=ROOT, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"{len(committed_before)} already committed, {N_FILES - len(committed_before)} to process" in rerun.stdout
    for name, mtime in committed_before.items():  # committed files were not redone
        assert (out / "stats" / name).stat().st_mtime_ns == mtime
    _assert_same_output(out, clean_run)


def test_sigkill_worker_mid_file_is_retried_by_ray(inputs, clean_run, tmp_path):
    out = tmp_path / "out"
    driver = subprocess.Popen(_command(inputs, out), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_for(lambda: _committed(out) >= 1, what="a first committed file")
        victim = busy_worker(driver.pid, wait_s=60, task="process_file")
        assert victim, "no busy worker found"
        assert _committed(out) < N_FILES, "the kill came too late to test anything"
        os.kill(victim.pid, signal.SIGKILL)
        output, _ = driver.communicate(timeout=300)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 0, output.decode()
    _assert_same_output(out, clean_run)


def test_sigkill_driver_during_dedup_then_rerun_gives_the_uninterrupted_output(inputs, clean_run, tmp_path):
    out = tmp_path / "out"
    driver = subprocess.Popen(_command(inputs, out), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    _wait_for(lambda: (out / "work" / "minhash_dedup" / "keys").exists(), what="the MinHash step to start")
    kill_driver(driver)
    assert _committed(out) == N_FILES and not (out / "tokens" / "manifest.json").exists()
    rerun = subprocess.run(_command(inputs, out), cwd=ROOT, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"{N_FILES} already committed, 0 to process" in rerun.stdout
    _assert_same_output(out, clean_run)


def test_rerun_after_a_kill_between_tokenize_steps_writes_the_shards(inputs, clean_run, tmp_path):
    """The tokenize stage commits per-part stats in its first step: a kill right after that must not make a
    re-run believe the stage is done (it once did: no shards, no manifest)."""
    out = tmp_path / "out"
    shutil.copytree(clean_run, out)
    shutil.rmtree(out / "tokens")
    (out / "work" / "tokenize" / "timing.json").unlink()
    (out / "work" / "tokenize" / "steps" / "shards.json").unlink()
    for marker in (out / "work" / "tokenize" / "shards").glob("*.json"):
        marker.unlink()  # as if killed after tokenize_part committed every part, before write_bucket_shards
    rerun = subprocess.run(_command(inputs, out), cwd=ROOT, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    _assert_same_output(out, clean_run)
