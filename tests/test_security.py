"""Inputs cannot steer where outputs go: whatever the input names, every file the run writes is under the
output folder, named by input index (part-NNNNNN), never by anything taken from the input."""

from __future__ import annotations

import os
import shutil

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
