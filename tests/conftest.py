"""Shared test helpers. Tests never touch the network: scripts/test.sh runs them in a network namespace."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SHARED_DATA = ROOT.parent / "shared" / "data"


def shared_data(sub: str) -> Path:
    """A folder of ../shared/data, or skip the test with a message saying why."""
    path = SHARED_DATA / sub
    if not path.exists():
        pytest.skip(f"real third-party data not present: {path} (see ../shared/data/README.md)")
    return path


@pytest.fixture(scope="session")
def ray_local():
    """One embedded local Ray for the tests that need it (each start costs ~4 s)."""
    import ray

    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "stages.yaml"
    path.write_text(body)
    return path
