"""Fault injection on the full recipe (tests/faults.py): SIGKILL a whole node of a 2-node Ray cluster in
every phase (per-file pass, each dedup stage, tokenize), re-run the same command, and get byte for byte the
output of an uninterrupted run. The driver and worker kills of every phase are marked `faults` (deselected
by default: `pytest -m faults`); tests/test_resume.py covers them in the default run, and
bench/perf/fault_trials.py is the long version with random moments."""

from __future__ import annotations

import random

import pytest

from tests.faults import PHASES, FaultRunner, TwoNodeCluster, make_inputs

pytestmark = [pytest.mark.ray, pytest.mark.slow]


@pytest.fixture(scope="module")
def runner(tmp_path_factory) -> FaultRunner:
    work = tmp_path_factory.mktemp("faults")
    runner = FaultRunner(make_inputs(work / "inputs"), work)
    runner.clean_run()
    return runner


@pytest.fixture(scope="module")
def cluster_runner(runner):
    runner.cluster = TwoNodeCluster()
    yield runner
    runner.cluster.shutdown()
    runner.cluster = None


def _assert_trial_passes(row: dict, phase: str) -> None:
    assert row["landed_in"] == phase, row
    assert not row["killed"].startswith("nothing"), row
    assert row["rerun_exit"] == 0 and row["identical"], row


def _trial_in_phase(runner, target: str, phase: str, rng: random.Random, name: str) -> dict:
    """A trial whose kill lands in `phase`: one at a random moment, and if the machine's load moved the phase
    out from under it (the kill came after the phase ended), again with the kill as soon as the phase starts.
    Every trial that lands must give the uninterrupted output; landing is what load cannot be allowed to decide."""
    row = runner.trial(target, phase, rng, name=name)
    for attempt in range(2):
        if row["landed_in"] == phase and not row["killed"].startswith("nothing"):
            break
        row = runner.trial(target, phase, rng, name=f"{name}-prompt{attempt}", prompt=True)
    return row


@pytest.mark.parametrize("phase", PHASES)
def test_killing_a_node_then_rerunning_gives_the_uninterrupted_output(cluster_runner, phase):
    row = _trial_in_phase(cluster_runner, "node", phase, random.Random(phase), name=f"node-{phase}")
    _assert_trial_passes(row, phase)


@pytest.mark.faults
@pytest.mark.parametrize("target", ["driver", "worker"])
@pytest.mark.parametrize("phase", PHASES)
def test_killing_the_driver_or_a_worker_then_rerunning_gives_the_uninterrupted_output(runner, target, phase):
    row = _trial_in_phase(runner, target, phase, random.Random(f"{target}{phase}"), name=f"{target}-{phase}")
    _assert_trial_passes(row, phase)
