"""The command line as a new user meets it (issue 13 item 7): the right usage for a mistyped flag, a plain message
for a folder that is not a run's output, counts written as the README writes them, inputs that say what they
were relative to, and Ctrl-C that says how far the run got and how to resume."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from pipeline.config import ConfigError, load
from tests.conftest import FIXTURES, ROOT, write_config

PIPELINE = [sys.executable, "-m", "pipeline"]


def _cli(*args, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([*PIPELINE, *args], capture_output=True, text=True, cwd=cwd)


def test_a_mistyped_flag_shows_the_commands_own_usage(tmp_path):
    result = _cli("run", "stages.yaml", "--ouput", str(tmp_path / "x"))
    assert result.returncode == 2
    assert "usage: pipeline run" in result.stderr and "unrecognized arguments: --ouput" in result.stderr


@pytest.mark.parametrize("command", [["report"], ["tokens", "verify"], ["tokens", "stats"]])
def test_report_and_tokens_on_a_folder_that_is_not_a_run_say_so(tmp_path, command):
    result = _cli(*command, str(tmp_path))
    assert result.returncode == 2
    assert "not the output folder of a run" in result.stderr and "Traceback" not in result.stderr


def test_counts_can_be_written_as_the_readme_writes_them(tmp_path):
    body = "input: [x]\nstages:\n  - stage: read\n  - stage: extract\n  - stage: tokenize\n    shard_tokens: 1e8\n"
    assert load(write_config(tmp_path, body)).stages[-1].config.shard_tokens == 100_000_000
    for bad in ("1.5e0", "lots"):
        with pytest.raises(ConfigError, match="stages.yaml:6: stage 'tokenize': shard_tokens: expected int"):
            load(write_config(tmp_path, body.replace("1e8", bad)))


def test_an_input_that_matches_nothing_says_relative_to_what(tmp_path):
    result = _cli("check", str(ROOT / "stages.yaml"), "--input", "no/such/*.warc.gz", cwd=tmp_path)
    assert result.returncode == 2 and f"matched no file (relative to {tmp_path})" in result.stderr


@pytest.mark.ray
@pytest.mark.slow
def test_ctrl_c_says_how_far_the_run_got_and_how_to_resume(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(12):
        shutil.copy(FIXTURES / "warc" / "mixed.warc.gz", inputs / f"crawl-{i:02d}.warc.gz")
    out = tmp_path / "out"
    cmd = [*PIPELINE, "run", "stages.yaml", "--input", str(inputs), "--output", str(out), "--num-cpus", "1"]
    # SIGINT at its default in the run, as in a terminal: a background job of a shell without job control (CI
    # started with `&`) inherits it ignored, and Python then never turns it into KeyboardInterrupt. Reset, then
    # exec (same pid; preexec_fn is not safe in a process with threads).
    default_sigint = (
        "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(*sys.argv[1:2], sys.argv[1:])"
    )
    cmd = [sys.executable, "-c", default_sigint, *cmd]
    run = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while not (out / "stats").exists() or not any((out / "stats").iterdir()):
        assert run.poll() is None, run.communicate()
        time.sleep(0.05)
    os.kill(run.pid, signal.SIGINT)
    stdout, stderr = run.communicate(timeout=300)
    assert run.returncode == 130, stdout + stderr
    said = re.search(r"interrupted: (\d+) of 12 input files committed; run the same command to resume", stdout)
    # a worker busy with a file when Ctrl-C came may still commit it before the embedded Ray is gone
    assert said and 1 <= int(said.group(1)) <= len(list((out / "stats").iterdir())) < 12
    assert "Traceback" not in stderr
