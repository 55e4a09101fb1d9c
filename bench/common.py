"""What the bench scripts share: where the repository, the results and the shared data are, the peer venvs,
running a module against another checkout's code, keeping a subprocess off the network, and Markdown tables.

Scripts run as modules from the repository root (`.venv/bin/python -m bench.perf.scale`): they import each other
and the project's packages (installed editable) without touching sys.path. This module imports the standard
library only, because the sides that run inside datatrove's venvs import it too.

Shared data: `CC_SHARED_DATA` if set, else `../shared/data` beside the repository (its README.md says what is in it).
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"  # every result and scratch folder (git-ignored)
SHARED = Path(os.environ.get("CC_SHARED_DATA", REPO.parent / "shared" / "data"))
# Single-node Ray on loopback: no usage stats, no token auth, no cloud metadata look-ups
RAY_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_AUTH_MODE": "disabled",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def shared(*parts: str) -> Path:
    """A folder or file of the shared data; exits with a SKIP message when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        sys.exit(f"SKIP: {path} is absent: this benchmark reads the shared third-party data (set CC_SHARED_DATA)")
    return path


@dataclass(frozen=True)
class PeerVenv:
    """A peer's own venv under bench/out/ (git-ignored), made with pip on first use (about a minute)."""

    name: str
    requirements: tuple[str, ...]

    @property
    def path(self) -> Path:
        return OUT / self.name

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def ensure(self) -> Path:
        """The venv's python, the venv made first if it is missing."""
        if not self.python.exists():
            print(f"creating {self.path}: pip install {' '.join(self.requirements)} ...", flush=True)
            subprocess.run(["python3.11", "-m", "venv", str(self.path)], check=True)
            subprocess.run([str(self.python), "-m", "pip", "install", "-q", *self.requirements], check=True)
        return self.python


# datatrove 0.10.1 beside our trafilatura version, for the step-by-step comparisons (perf.bench_extract,
# perf.bench_filters and quality.parity_filters, which also need spaCy in it; quality.parity_url adds URLFilter's)
DATATROVE = PeerVenv(
    "venv-datatrove",
    (
        "datatrove==0.10.1",
        "trafilatura==2.3.1",
        "warcio==1.8.1",
        "fasttext-numpy2-wheel==0.9.2",
        "faust-cchardet==3.2.0",
        "python-magic==0.4.27",
        "fasteners==0.20",
        "orjson==3.13.0",
    ),
)
# datatrove as FineWeb's users install it, pip resolving the rest (perf.e2e_datatrove; its side says why each)
DATATROVE_FINEWEB = PeerVenv(
    "venv-datatrove-fineweb", ("datatrove[io,processing]==0.10.1", "spacy", "lxml_html_clean", "aiohttp")
)


def git(*args: str) -> bytes:
    return subprocess.run(["git", *args], capture_output=True, cwd=REPO, check=True).stdout


def head_snapshot(parent: Path) -> Path:
    """The committed HEAD's code and recipe, exported once (git archive) to parent/<sha>/, so that every run
    measures the same code while others edit the working tree. bench/ is left out: the harness is this checkout's
    (`in_code` puts it on the path after the snapshot)."""
    root = parent / git("rev-parse", "HEAD").decode().strip()
    if not (root / "stages.yaml").exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        archive = git("archive", "HEAD", "--", ".", ":(exclude)bench")
        subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    return root


def in_code(code: Path, module: str, *args: str) -> tuple[list[str], dict[str, str]]:
    """Command and environment that run `python -m module args` with the project's packages imported from `code`
    (a snapshot or another checkout) and `bench` from this checkout unless `code` has its own: -P keeps the
    working directory off sys.path, so no script has to edit it."""
    return [sys.executable, "-P", "-m", module, *args], code_path_env(code)


def code_path_env(code: Path) -> dict[str, str]:
    """os.environ with `code`, then this checkout, first on PYTHONPATH: before the editable install, and inherited
    by child processes and Ray's workers."""
    path = [str(code), str(REPO), os.environ.get("PYTHONPATH", "")]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in path if p))


def network_off() -> tuple[list[str], dict[str, str]]:
    """A command prefix and environment that keep a subprocess off the network: `unshare -n` with loopback up
    where this user may, else HTTP(S) proxies to a dead port (Ray's agent probes the cloud metadata address)."""
    if shutil.which("ip") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        return ["unshare", "-n", "bash", "-c", 'ip link set lo up && exec "$@"', "bash"], {}
    dead = "http://127.0.0.1:9"
    return [], {"HTTP_PROXY": dead, "HTTPS_PROXY": dead, "NO_PROXY": "127.0.0.1,localhost,::1"}


def children_cpu_s() -> float:
    """User + system CPU seconds of the child processes waited for so far (subtract two readings)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def markdown_table(header: Sequence[str], rows: Iterable[Sequence], align: str = "") -> str:
    """A GitHub Markdown table of str() of each cell; `align` has a letter a column, `r` right-aligns it."""
    rule = "|" + "|".join("---:" if a == "r" else "---" for a in align.ljust(len(header), "l")) + "|"
    return "\n".join([_row(header), rule, *(_row(r) for r in rows)])


def _row(cells: Sequence) -> str:
    return "| " + " | ".join(map(str, cells)) + " |"
