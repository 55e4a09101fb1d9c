"""The commands of README.md's "Running on a cluster" section, as the steps a user types, machine by machine.

Each ```bash block of that section is preceded by a marker that says where it is typed and for which
authentication mode (none: both):

    <!-- cluster: on=worker,submit auth=token -->

Machines: `head`, `worker` (each worker node), `submit` (the machine jobs are submitted from). Every bash
block of the section must carry a marker, so that no command in it goes untested.

    python scripts/readme_cluster_steps.py --auth token --out DIR [--sub OLD=NEW ...]

writes the steps of that mode, in README order, as DIR/NN-MACHINE.sh (one file per block and machine), with
each OLD replaced by NEW; every OLD must occur in them. scripts/cluster_walkthrough.sh runs those files, and
tests/test_cluster.py runs it.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
SECTION = "### Running on a cluster"
MACHINES = ("head", "worker", "submit")
AUTH_MODES = ("token", "disabled")
_MARKER = re.compile(r"^\s*<!-- cluster: on=(?P<on>[a-z,]+)(?: auth=(?P<auth>[a-z]+))? -->\s*$")
_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<info>\S*)\s*$")


@dataclass(frozen=True)
class Step:
    machines: tuple[str, ...]
    auth: str | None  # None: both modes
    text: str


def section(readme: str) -> list[str]:
    """The lines of the "Running on a cluster" section, up to the next heading of the same or a higher level."""
    lines = readme.splitlines()
    try:
        start = lines.index(SECTION)
    except ValueError:
        raise ValueError(f"README.md has no line {SECTION!r}") from None
    end = next(
        (i for i in range(start + 1, len(lines)) if re.match(r"^#{1,3} ", lines[i])),
        len(lines),
    )
    return lines[start:end]


def steps(readme: str) -> list[Step]:
    """Every marked bash block of the section, in order. Raises ValueError on an unmarked block or a bad marker."""
    lines = section(readme)
    found: list[Step] = []
    marker: re.Match | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence is None:
            if "<!-- cluster:" in line:
                marker = _MARKER.match(line)
                if marker is None:
                    raise ValueError(f"malformed cluster marker: {line.strip()!r}")
                _check_marker(marker)
            elif line.strip():
                marker = None  # a marker applies to the block right after it
            i += 1
            continue
        indent, info = fence["indent"], fence["info"]
        body = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i].lstrip())
            i += 1
        i += 1  # the closing fence
        if info == "bash":
            if marker is None:
                raise ValueError(f"a bash block of {SECTION!r} has no cluster marker: {body[:1]}")
            found.append(Step(tuple(marker["on"].split(",")), marker["auth"], "\n".join(body) + "\n"))
        marker = None
    return found


def _check_marker(marker: re.Match) -> None:
    unknown = [m for m in marker["on"].split(",") if m not in MACHINES]
    if unknown or (marker["auth"] is not None and marker["auth"] not in AUTH_MODES):
        raise ValueError(f"cluster marker names an unknown machine or mode: {marker.group(0).strip()!r}")


def steps_for(readme: str, auth: str) -> list[tuple[str, str]]:
    """(machine, commands) in the order a user types them, for one authentication mode."""
    if auth not in AUTH_MODES:
        raise ValueError(f"auth must be one of {AUTH_MODES}, not {auth!r}")
    return [(m, s.text) for s in steps(readme) if s.auth in (None, auth) for m in s.machines]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--auth", choices=AUTH_MODES, required=True)
    parser.add_argument("--out", type=Path, required=True, help="folder for the NN-MACHINE.sh files")
    parser.add_argument("--sub", action="append", default=[], metavar="OLD=NEW", help="placeholder substitution")
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    found = steps_for(args.readme.read_text(), args.auth)
    subs = [s.split("=", 1) for s in args.sub]
    for old, _ in subs:
        if not any(old in text for _, text in found):
            print(f"placeholder {old!r} occurs in none of the README's cluster commands", file=sys.stderr)
            return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for n, (machine, text) in enumerate(found, 1):
        for old, new in subs:
            text = text.replace(old, new)
        (args.out / f"{n:02d}-{machine}.sh").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
