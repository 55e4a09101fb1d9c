"""Shared test helpers. Tests never touch the network: scripts/test.sh runs them in a network namespace."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SHARED_DATA = Path(os.environ.get("CC_SHARED_DATA") or ROOT.parent / "shared" / "data")  # as bench/common.py


_LOOPBACK = ("127.", "::1", "localhost")


def _is_loopback(address) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    return not isinstance(host, str) or host.startswith(_LOOPBACK) or host == "0.0.0.0"


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    """Plain `pytest` is hermetic too (scripts/test.sh adds a network namespace on top): a test that tries to
    reach anything but loopback fails at once, saying where it tried to go, instead of hanging or leaking."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def refuse(address):
        raise RuntimeError(f"a test tried to reach {address!r}: tests stay on loopback (tests/conftest.py)")

    def allowed(sock, address) -> bool:  # Unix sockets (multiprocessing, Ray's own) are local by nature
        return sock.family not in (socket.AF_INET, socket.AF_INET6) or _is_loopback(address)

    def connect(self, address):
        return real_connect(self, address) if allowed(self, address) else refuse(address)

    def connect_ex(self, address):
        return real_connect_ex(self, address) if allowed(self, address) else refuse(address)

    def getaddrinfo(host, *args, **kwargs):
        return real_getaddrinfo(host, *args, **kwargs) if host is None or _is_loopback(host) else refuse(host)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def shared_data(sub: str) -> Path:
    """A folder of ../shared/data, or skip the test with a message saying why."""
    path = SHARED_DATA / sub
    if not path.exists():
        pytest.skip(f"real third-party data not present: {path} (see ../shared/data/README.md)")
    return path


@pytest.fixture(scope="session", autouse=True)
def _cache_dir(tmp_path_factory):
    """Caches the code keeps between runs (the parsed url_filter blocklist) go to a folder of this test session,
    for the tests and every process they start, not to the user's ~/.cache."""
    os.environ["CCP_CACHE_DIR"] = str(tmp_path_factory.mktemp("ccp-cache"))


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
