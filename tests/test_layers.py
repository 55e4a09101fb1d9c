"""The shape of the code: one direction of imports, and every stage found through its entry point.

core (contracts, registry, batches, storage, retry, shuffle, text) <- the stages (readers, extractors, filters, dedup,
tokenization; none imports another) <- pipeline (engine, CLI, report). import-linter checks it with the contract in
pyproject.toml, lazy imports inside functions included.
"""

from __future__ import annotations

import ast
import importlib.metadata
import subprocess
import sys
import tomllib
from pathlib import Path

from core.registry import ENTRY_POINT_GROUP, REGISTRY
from tests.conftest import ROOT

STAGE_PACKAGES = ("readers", "extractors", "filters", "dedup", "tokenization")


def _declared_entry_points() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project["entry-points"][ENTRY_POINT_GROUP]


def _registered_in(path: Path) -> set[str]:
    """Stage names a module registers: the first argument of every `register("name", ...)` call in it."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "register" and node.args:
            if isinstance(node.args[0], ast.Constant):
                names.add(node.args[0].value)
    return names


def test_imports_go_one_way():
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 kept, 0 broken" in result.stdout


def test_every_module_that_registers_a_stage_is_an_entry_point():
    declared = _declared_entry_points()
    for package in STAGE_PACKAGES + ("core", "pipeline"):
        for path in sorted((ROOT / package).glob("*.py")):
            module = f"{package}.{path.stem}"
            for name in _registered_in(path):
                assert declared.get(name) == module, (
                    f'{module} registers stage {name!r}: add `{name} = "{module}"` to '
                    f'[project.entry-points."{ENTRY_POINT_GROUP}"] in pyproject.toml'
                )
    assert set(declared.values()) <= {f"{p}.{m.stem}" for p in STAGE_PACKAGES for m in (ROOT / p).glob("*.py")}


def test_the_installed_entry_points_are_the_declared_ones_and_each_registers_its_stage():
    installed = {e.name: e.value for e in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    assert installed == _declared_entry_points(), "pyproject.toml changed since the install: run scripts/setup.sh"
    assert set(REGISTRY.names()) == set(installed)
    for name, module in installed.items():
        assert REGISTRY.get(name).impl.__module__ == module
