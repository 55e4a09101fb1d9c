"""Regenerate BENCHMARKS.md's tables from the JSON results the bench scripts write under bench/out/.

    .venv/bin/python -m bench.tables            # rewrite the marked tables of BENCHMARKS.md in place
    .venv/bin/python -m bench.tables --check    # exit 1 if a table would change; nothing written

A generated table sits between `<!-- table: NAME -->` and `<!-- /table -->`. NAME picks an entry of TABLES: the
JSON file under bench/out/ that the owning script writes and that script's function that renders it (the same
function prints its table on stdout), so a number in the document can be traced to a run. bench/out/ is not
committed: a table whose JSON is absent here is left as it is, and the command says so. Tables without markers
(hand-made summaries of several runs) are not touched.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from bench.common import OUT, REPO
from bench.perf import e2e_datatrove, memory, scale
from bench.quality import eval_extraction_all, eval_perplexity, eval_prepass, parity_url


@dataclass(frozen=True)
class Table:
    results: str  # the JSON file under bench/out/ that the owning script writes
    render: Callable[[object], str]  # its loaded content -> the Markdown table


TABLES = {
    "extraction_full_text": Table("eval_extraction_all.json", eval_extraction_all.table_full_text),
    "extraction_snippets": Table("eval_extraction_all.json", eval_extraction_all.table_snippets),
    "extraction_crawl_cost": Table("eval_extraction_all.json", eval_extraction_all.table_crawl_cost),
    "prepass": Table("eval_prepass.json", eval_prepass.prepass_table),
    "prepass_skipped": Table("eval_prepass.json", eval_prepass.skipped_table),
    "perplexity_eval": Table("eval_perplexity.json", eval_perplexity.eval_table),
    "perplexity_throughput": Table("eval_perplexity.json", eval_perplexity.throughput_table),
    "parity_url": Table("parity_url.json", parity_url.table),
    "memory": Table("memory.json", memory.table),
    "scale": Table("scale.json", scale.table),
    "scale_s3": Table("scale_s3.json", scale.requests_table),
    "e2e_cc": Table("e2e_datatrove.json", partial(e2e_datatrove.mix_table, mix="cc")),
    "e2e_all": Table("e2e_datatrove.json", partial(e2e_datatrove.mix_table, mix="all")),
}
MARKED = re.compile(r"(?P<open><!-- table: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(?P<close><!-- /table -->)", re.S)


def regenerate(text: str, out: Path = OUT, tables: dict[str, Table] = TABLES) -> tuple[str, list[str]]:
    """`text` with every marked table rendered from its JSON under `out`, and a line for each saying what happened.
    An unknown table name raises KeyError: a misspelt marker would otherwise never be regenerated."""
    notes: list[str] = []

    def replace(match: re.Match) -> str:
        name = match["name"]
        if name not in tables:
            raise KeyError(f"<!-- table: {name} -->: no such table; known: {', '.join(tables)}")
        path = out / tables[name].results
        if not path.exists():
            notes.append(f"{name}: {path} is absent; table left as it is")
            return match[0]
        body = "\n" + tables[name].render(json.loads(path.read_text())).strip("\n") + "\n\n"
        notes.append(f"{name}: {'unchanged' if body == match['body'] else 'regenerated'} from {path}")
        return match["open"] + body + match["close"]

    return MARKED.sub(replace, text), notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--doc", type=Path, default=REPO / "BENCHMARKS.md", help="the Markdown file to update")
    parser.add_argument("--out", type=Path, default=OUT, help="where the JSON results are")
    parser.add_argument("--check", action="store_true", help="exit 1 if a table would change; write nothing")
    args = parser.parse_args(argv)
    text = args.doc.read_text()
    try:
        new, notes = regenerate(text, args.out)
    except KeyError as e:
        sys.exit(f"{args.doc}: {e.args[0]}")
    print("\n".join(notes) or f"{args.doc}: no marked table")
    if new == text:
        return 0
    if args.check:
        print(f"{args.doc}: tables differ from the results under {args.out}")
        return 1
    args.doc.write_text(new)
    print(f"rewrote {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
