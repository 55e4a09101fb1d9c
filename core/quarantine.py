"""The quarantine: records that killed their worker or ran past the hard limits, one JSON list per input file.

`quarantine/part-NNNNNN.json` in the output folder holds `{"file": ..., "records": [{ordinal, url, stage, reason,
rss_mb}, ...]}`. The watchdog (core/watchdog.py) appends a record before it kills the task; the task's retry
reads the list (one request) and skips those records as `error: quarantined.<reason>`, then commits. The list is
committed state like the rest of the output: a re-run of the same output folder reads the same list and gives
the same bytes, and the report lists every entry.
"""

from __future__ import annotations

from core import storage

FOLDER = "quarantine"


def path_for(output: str, file_index: int) -> str:
    return storage.join(output, FOLDER, f"part-{file_index:06d}.json")


def load(path: str) -> dict[int, dict]:
    """ordinal -> entry for one input file (empty when nothing was quarantined)."""
    fs, _ = storage.filesystem(path)
    if not fs.exists(path):
        return {}
    return {entry["ordinal"]: entry for entry in storage.read_json(fs, path)["records"]}


def add_entry(path: str, entry: dict, file: str = "") -> None:
    """Append one record to a file's list (written whole and atomically: one writer per file at a time, the
    watchdog of the one task running it)."""
    fs, _ = storage.filesystem(path)
    records = list(load(path).values())
    if entry["ordinal"] not in {r["ordinal"] for r in records}:
        records.append(entry)
    storage.write_json(fs, path, {"file": file or entry.get("file", ""), "records": records})


def error_kind(entry: dict) -> str:
    return f"quarantined.{entry['reason']}"
