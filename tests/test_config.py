"""stages.yaml is validated before anything runs; every error names the file, the line and the key."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipeline.config import ConfigError, load
from tests.conftest import ROOT, write_config

VALID = """\
input: [a.warc.gz]
output: out
stages:
  - stage: read
  - stage: extract
    timeout_s: 0.5
  - stage: language
    languages: [en, fr]
    min_score: 0.5
"""


def test_valid_config_builds_stage_configs(tmp_path):
    config = load(write_config(tmp_path, VALID))
    assert [s.name for s in config.stages] == ["read", "extract", "language"]
    assert config.stages[1].config.timeout_s == 0.5
    assert config.stages[2].config.languages == ("en", "fr")
    assert config.options.input == ("a.warc.gz",)


def test_shipped_stages_yaml_is_valid():
    config = load(ROOT / "stages.yaml")
    assert config.stages[0].name == "read"


@pytest.mark.parametrize(
    "body, expected",
    [
        (VALID.replace("stage: extract", "stage: extrakt"), ["stages.yaml:5", "unknown stage 'extrakt'", "extract"]),
        (VALID.replace("timeout_s: 0.5", "timeout: 0.5"), ["stages.yaml:6", "unknown key 'timeout'", "timeout_s"]),
        (VALID.replace("min_score: 0.5", "min_score: 1.5"), ["stages.yaml:9", "min_score", "out of range"]),
        (VALID.replace("min_score: 0.5", "min_score: high"), ["stages.yaml:9", "expected float", "'high'"]),
        (VALID.replace("timeout_s: 0.5", "timeout_s: true"), ["stages.yaml:6", "expected float", "bool"]),
        (VALID.replace("output: out", "outptu: out"), ["stages.yaml:2", "unknown key 'outptu'", "output"]),
        (VALID.replace("  - stage: read\n", ""), ["first stage", "source"]),
        (VALID + "  - stage: language\n", ["stages.yaml:10", "appears twice"]),
        ("stages: []\n", ["stages.yaml:1", "non-empty list"]),
        ("input: [a\n", ["not valid YAML"]),
        ("- just a list\n", ["top level must be a mapping"]),
        ("input: [a]\nbatch_size: 0\nstages:\n  - stage: read\n", ["stages.yaml:2", "batch_size", "out of range"]),
        (VALID + "    model_path: models/lid.bin\n", ["stages.yaml:10", "model_path", "no such file: models/lid.bin"]),
        (VALID + "  - stage: tokenize\n    tokenizer_path: tok.json\n", ["stages.yaml:11", "no such file: tok.json"]),
    ],
)
def test_bad_config_is_reported_with_file_and_line(tmp_path, body, expected):
    with pytest.raises(ConfigError) as err:
        load(write_config(tmp_path, body))
    for fragment in expected:
        assert fragment in str(err.value)


def test_yaml_is_safe_loaded(tmp_path):
    body = VALID.replace("output: out", "output: !!python/object/apply:os.system ['echo pwned']")
    with pytest.raises(ConfigError):
        load(write_config(tmp_path, body))


def test_cli_reports_config_error_and_writes_nothing(tmp_path):
    config = write_config(tmp_path, VALID.replace("min_score: 0.5", "min_score: 7"))
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", str(config), "--output", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "stages.yaml:9" in result.stderr and "min_score" in result.stderr
    assert not out.exists()


def test_cli_stages_lists_every_stage_with_defaults():
    result = subprocess.run([sys.executable, "-m", "pipeline", "stages"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0
    for expected in ("read (source)", "extract (map)", "language (map)", "min_score: 0.65", "timeout_s: 10.0"):
        assert expected in result.stdout
