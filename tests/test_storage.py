"""Committing and sweeping on a local filesystem while stragglers of a killed run may still be writing."""

from __future__ import annotations

import os

from core import storage


def test_a_leftover_that_disappears_during_the_sweep_is_not_an_error(tmp_path, monkeypatch):
    """A worker of a killed run can rename its temporary file between the sweep's walk and its delete."""
    (tmp_path / "a").mkdir()
    for name in ("part-1.parquet.tmp-x", "part-2.parquet.tmp-y", "part-3.parquet"):
        (tmp_path / "a" / name).write_bytes(b"x")
    real_remove = os.remove

    def renamed_first(path):
        if path.endswith("tmp-x"):
            real_remove(path)  # the straggler committed it just now
            raise FileNotFoundError(path)
        real_remove(path)

    monkeypatch.setattr(os, "remove", renamed_first)
    fs, _ = storage.filesystem(str(tmp_path))
    assert storage.remove_leftovers(fs, str(tmp_path)) == 1
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["part-3.parquet"]


def test_a_test_cannot_reach_beyond_loopback():
    """The autouse guard of tests/conftest.py: plain pytest stays on loopback too."""
    import socket

    import pytest

    with pytest.raises(RuntimeError, match="tests stay on loopback"):
        socket.create_connection(("203.0.113.7", 80), timeout=1)  # TEST-NET-3: never routed
    with pytest.raises(RuntimeError, match="tests stay on loopback"):
        socket.getaddrinfo("data.commoncrawl.org", 443)


def test_unix_sockets_stay_allowed(tmp_path):
    import socket

    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "s"))
    server.listen(1)
    client = socket.socket(socket.AF_UNIX)
    client.connect(str(tmp_path / "s"))
    client.close()
    server.close()
