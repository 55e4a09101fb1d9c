"""Inputs cannot steer where outputs go: whatever the input names, every file the run writes is under the
output folder, named by input index (part-NNNNNN), never by anything taken from the input. And a run needs
no network: the full recipe passes in a namespace with loopback only."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from pipeline.config import load
from pipeline.filepass import process_file
from tests.conftest import FIXTURES, ROOT


def _all_files(folder) -> set[str]:
    return {os.path.join(d, f) for d, _, files in os.walk(folder) for f in files}


def test_hostile_input_names_write_only_under_the_output_folder(tmp_path):
    inputs = tmp_path / "in" / "sub"
    inputs.mkdir(parents=True)
    hostile = inputs / "..%2F..%2Fevil;rm -rf ~ $(id).warc.gz"
    shutil.copy(FIXTURES / "warc" / "mixed.warc.gz", hostile)
    sneaky_path = str(inputs / ".." / "sub" / hostile.name)
    out = tmp_path / "out"
    before = _all_files(tmp_path)
    config = load(ROOT / "stages.yaml").with_overrides(output=str(out))
    stats = process_file(0, sneaky_path, config)
    written = _all_files(tmp_path) - before
    assert stats["kept"] == 7
    assert written and all(path.startswith(str(out) + os.sep) for path in written)
    assert {os.path.basename(p) for p in written} == {"part-000000.parquet", "part-000000.json"}


@pytest.mark.ray
@pytest.mark.slow
def test_the_full_recipe_needs_no_network_but_loopback(tmp_path):
    """The whole default recipe (models, word lists, tokenizer all shipped) in a fresh network namespace whose
    only interface is loopback: no download, no DNS, no metadata service is needed."""
    if not shutil.which("ip") or subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("unshare -n is not permitted here (scripts/test.sh then falls back to dead proxy variables)")
    out = tmp_path / "out"
    interfaces = f"{sys.executable} -c 'import socket; print(*[n for _, n in socket.if_nameindex()])'"
    run = f"{sys.executable} -m pipeline run stages.yaml --output {out}"
    script = f"ip link set lo up && {interfaces} && exec {run}"
    done = subprocess.run(["unshare", "-n", "bash", "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.splitlines()[0] == "lo", "the namespace has an interface besides loopback"
    report = json.loads((out / "report.json").read_text())
    assert report["totals"]["records_read"] == 29 and report["totals"]["kept"] == 15 and report["totals"]["tokens"]
