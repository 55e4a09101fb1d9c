"""The document batch: a pyarrow Table, one row per record, plus helpers the stages share.

Columns set by `read` (see DESIGN.md): `doc_id` (int64, input-file index << 32 | record ordinal),
`id` (WARC-Record-ID), `url`, `date`, `source` (`path@offset`), `html` (binary, until extracted),
`charset` (declared), `content_length` (WARC block bytes), `text`,
`drop_reason` (`"<stage>.<rule>"`, null = kept), `error` (read errors).
A stage adds its own signal columns (`language`, `language_score`, ...).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

READ_SCHEMA = pa.schema(
    [
        ("doc_id", pa.int64()),
        ("id", pa.string()),
        ("url", pa.string()),
        ("date", pa.string()),
        ("source", pa.string()),
        ("html", pa.large_binary()),
        ("charset", pa.string()),
        ("content_length", pa.int64()),
        ("text", pa.large_string()),
        ("drop_reason", pa.string()),
        ("error", pa.string()),
    ]
)

# Columns that live only inside the per-file pass; never written to the kept-documents Parquet.
INTERNAL_COLUMNS = ("html", "charset", "content_length", "drop_reason", "error")


def from_rows(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=READ_SCHEMA)


def set_column(table: pa.Table, name: str, values) -> pa.Table:
    array = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else None
    if array is None:
        field_type = table.schema.field(name).type if name in table.column_names else None
        array = pa.array(values, type=field_type)
    if name in table.column_names:
        return table.set_column(table.column_names.index(name), name, array)
    return table.append_column(name, array)


def with_drop_reasons(table: pa.Table, reasons: list[str | None]) -> pa.Table:
    """Set `drop_reason` where `reasons` has one; keep any reason already there (first reason wins)."""
    current = table.column("drop_reason").to_pylist()
    merged = [old if old is not None else new for old, new in zip(current, reasons)]
    return set_column(table, "drop_reason", pa.array(merged, type=pa.string()))


# A stage marks a record it could not handle (its CPU budget ran out, it raised) with this prefix in drop_reason:
# the stage's counters see it leave like a drop, the file's stats count it as an error (pipeline/filepass.py).
ERROR_PREFIX = "error:"


def error_reason(stage: str, problem: str) -> str:
    return f"{ERROR_PREFIX}{stage}.{problem}"


def doc_bytes(table: pa.Table) -> int:
    """Bytes of what a document is at this point: its text once extracted, else its HTML payload
    (or, for a record dropped unread, the length the WARC header declared)."""
    if table.num_rows == 0:
        return 0
    text_len = pc.binary_length(table.column("text"))
    html_len = pc.binary_length(table.column("html"))
    declared = table.column("content_length")
    return int(pc.sum(pc.coalesce(text_len, html_len, declared, 0)).as_py() or 0)


def split_dropped(table: pa.Table) -> tuple[pa.Table, pa.Table]:
    """(live rows, rows dropped so far)."""
    dropped = pc.is_valid(table.column("drop_reason"))
    return table.filter(pc.invert(dropped)), table.filter(dropped)


def output_columns(table: pa.Table) -> pa.Table:
    return table.drop_columns([c for c in INTERNAL_COLUMNS if c in table.column_names])


# The dropped samples (`dropped/`) of the per-file pass and of the corpus stages.
SAMPLE_TEXT_CHARS = 5000  # a dropped sample shows this much text: enough to judge, small to store
SAMPLE_SCHEMA = pa.schema(
    [
        ("doc_id", pa.int64()),
        ("id", pa.string()),
        ("url", pa.string()),
        ("source", pa.string()),
        ("drop_reason", pa.string()),
        ("text", pa.large_string()),
    ]
)
