"""README.md's "Running on a cluster" commands, as written, on a real 2-node `ray start` cluster, in both
authentication modes.

The commands are not restated here: scripts/readme_cluster_steps.py takes the README's marked bash blocks,
and scripts/cluster_walkthrough.sh types them on a head, a worker and a submitting machine simulated in one
private network namespace (one HOME each), with only the placeholders replaced (HEAD_IP, the S3 input and
output). What the single machine adds around them, and why, is listed at the top of that script.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys

import pytest

from tests.conftest import ROOT

FILES = 48  # the walkthrough's default, as quoted in the README


def _steps_module():
    spec = importlib.util.spec_from_file_location("readme_cluster_steps", ROOT / "scripts" / "readme_cluster_steps.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


steps_module = _steps_module()
README = (ROOT / "README.md").read_text()
SUBMIT_ID = re.compile(r"--submission-id=(\S+)")


@pytest.mark.parametrize("auth", steps_module.AUTH_MODES)
def test_the_readme_cluster_commands_set_the_mode_on_every_machine_before_ray(auth):
    """Static, no Ray: every machine activates the venv and exports RAY_AUTH_MODE (and, with tokens, has the token
    file) before its first `ray` command; that is what the pinned Ray needs (the README's step 3)."""
    steps = steps_module.steps_for(README, auth)  # raises on an unmarked bash block in the section
    for machine in steps_module.MACHINES:
        mine = [text for m, text in steps if m == machine]
        lines = "".join(mine).splitlines()
        before = "\n".join(lines[: next(i for i, line in enumerate(lines) if line.startswith("ray "))]) + "\n"
        assert "source .venv/bin/activate" in before, machine
        assert f"export RAY_AUTH_MODE={auth}\n" in before, machine
        other = {"token": "disabled", "disabled": "token"}[auth]
        assert f"RAY_AUTH_MODE={other}" not in "".join(mine), machine
        if auth == "token" and machine == "head":  # the token is made before `ray start --head`
            head = "".join(mine)
            assert head.index("ray get-auth-token --generate") < head.index("ray start --head")
            assert head.index("chmod 600 ~/.ray/auth_token") < head.index("ray start --head")
        elif auth == "token":  # and copied before the first `ray` command of the others
            assert "scp HEAD_IP:.ray/auth_token ~/.ray/auth_token\nchmod 600 ~/.ray/auth_token\n" in before, machine
        else:
            assert "auth_token" not in "".join(mine), machine
    everything = "".join(text for _, text in steps)
    for placeholder in ("HEAD_IP", "s3://bucket/crawl/warc.paths.gz", "s3://bucket/run-1"):
        assert placeholder in everything
    submits = [text for m, text in steps if m == "submit" and "ray job submit" in text]
    assert len(submits) == 2, "the job, then the same command again (step 6)"
    first, again = (SUBMIT_ID.sub("--submission-id=ID", text) for text in submits)
    assert first == again and SUBMIT_ID.search(submits[0])[1] != SUBMIT_ID.search(submits[1])[1]


@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.timeout(2400)  # above the hang guard below, so that the walkthrough is stopped by it, cleanly
@pytest.mark.parametrize("auth", steps_module.AUTH_MODES)
def test_the_readme_cluster_commands_run_as_written(auth, tmp_path):
    """scripts/cluster_walkthrough.sh: the README's commands on two `ray start` nodes; `ray status` lists both; the
    first `ray job submit` is stopped mid-run and the README's second one resumes it and succeeds."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("the README walkthrough needs root and iproute2 (ip netns) for its private network namespace")
    out = tmp_path / "out"
    walkthrough = subprocess.Popen(
        ["bash", "scripts/cluster_walkthrough.sh", "--auth", auth, str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:  # a hang guard only: it takes 2-4 minutes on 2 loaded cores
        stdout, stderr = walkthrough.communicate(timeout=1800)
    except subprocess.TimeoutExpired:
        os.killpg(walkthrough.pid, signal.SIGTERM)  # its own process group; its trap then stops its namespace
        stdout, stderr = walkthrough.communicate(timeout=300)
        pytest.fail(f"the walkthrough hung:\n{stdout[-3000:]}{stderr[-3000:]}")
    done = subprocess.CompletedProcess(walkthrough.args, walkthrough.returncode, stdout, stderr)
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]

    # It typed the README's commands, all of them, in order, with only the placeholders replaced
    inputs = re.search(r"--input (\S+)", done.stdout)[1]
    expected = [
        f"  {machine}$ {line}"
        for machine, text in steps_module.steps_for(README, auth)
        for line in text.replace("HEAD_IP", "127.0.0.1")
        .replace("s3://bucket/crawl/warc.paths.gz", inputs)
        .replace("s3://bucket/run-1", str(out))
        .splitlines()
        if line.strip()
    ]
    typed = [line for line in done.stdout.splitlines() if re.match(r"  (head|worker|submit)\$ ", line)]
    assert typed == expected
    assert inputs != "s3://bucket/crawl/warc.paths.gz" and str(out) in done.stdout

    active = done.stdout.split("Active:", 1)[1].splitlines()
    assert len([line for line in active[:3] if line.startswith("     1 node_")]) == 2, done.stdout
    if auth == "token":
        assert "the same ray status without RAY_AUTH_MODE=token fails with AuthenticationError" in done.stdout

    _, again_id = SUBMIT_ID.findall(done.stdout)
    resumed = re.search(rf"{FILES} input files: (\d+) already committed", done.stdout.split(again_id, 1)[1])
    assert resumed and int(resumed[1]) >= 1, done.stdout
    assert f"Job '{again_id}' succeeded" in done.stdout, done.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["conservation"]["ok"] and report["totals"]["records_read"] == FILES * 15


def test_an_unmarked_bash_block_in_the_cluster_section_is_an_error():
    """So that no command of the section goes untyped by the walkthrough."""
    marked = "### Running on a cluster\n<!-- cluster: on=head -->\n```bash\nray start --head\n```\n"
    assert steps_module.steps_for(marked, "token") == [("head", "ray start --head\n")]
    with pytest.raises(ValueError, match="no cluster marker"):
        steps_module.steps(marked + "```bash\nray status\n```\n")
    with pytest.raises(ValueError, match="unknown machine"):
        steps_module.steps(marked.replace("on=head", "on=laptop"))
