"""datatrove's side of bench/perf/e2e_datatrove.py: FineWeb's base processing, as FineWeb's own script runs it.

Runs with the python of bench/out/venv-datatrove-fineweb, never with the project's venv (it must not import
`pipeline`). That venv is what a FineWeb user installs (e2e_datatrove.py makes it):
`pip install "datatrove[io,processing]==0.10.1" spacy lxml_html_clean aiohttp`, resolved by pip (trafilatura
1.11.0, fasttext-numpy2-wheel 0.9.2, warcio, spaCy 3.8). Why each extra package: `io` for WarcReader (warcio,
cchardet, magic); spaCy for the English word tokenizer of the Gopher, C4 and FineWeb filters (blank spaCy; no
extra brings it); lxml_html_clean because trafilatura 1.11 imports `lxml.html.clean`, which lxml 6 no longer has
(without it every page fails); aiohttp because datatrove computes the lid.176 cache path with fsspec's HTTP
filesystem, which raises ImportError without it, even when the file is cached.

The pipeline is examples/fineweb.py of datatrove (its first executor), with its exclusion writers, on one local
WARC, under `LocalPipelineExecutor(tasks=1, workers=1)`:

    WarcReader -> URLFilter -> Trafilatura(favour_precision=True) -> LanguageFilter(["en"], 0.65)
    -> GopherRepetitionFilter -> GopherQualityFilter -> C4QualityFilter(filter_no_terminal_punct=False)
    -> FineWebQualityFilter -> JsonlWriter

Every other setting is datatrove 0.10.1's default, as in FineWeb's script: Trafilatura `deduplicate=True` and
`timeout=1` (wall-clock, in a sandbox process), URLFilter's integrated UT1 lists, the filters' FineWeb
thresholds. One change: `languages=["en"]` is passed explicitly, because FineWeb's script relies on the default
and datatrove 0.10.1's default is `None`, which keeps every language scoring above 0.65.

Nothing of datatrove is patched. What would be fetched at run time is provided locally, outside its code:
  - lid.176: `LanguageFilter` would download lid.176.bin into datatrove's asset cache; the cache
    (HF_HOME/assets/datatrove/lid/ft176/) is seeded with the project's lid.176.ftz (the quantized model, the one
    our `language` stage uses: both sides score with the same model) under the name and with the `.completed`
    marker datatrove's download would leave, so datatrove's own code loads it.
  - the public suffix list: `URLFilter`'s `TLDExtract()` fetches the live list once and caches it; with no
    network it falls back to the snapshot bundled with tldextract and caches that (e2e_datatrove.py runs every
    side in a network namespace, and a warm-up run fills TLDEXTRACT_CACHE before the timed rounds).
  - the UT1 block lists ship inside the datatrove wheel; datatrove unpacks them into HF_HOME once (warm-up).

Prints one JSON line (`E2E_RESULT {...}`): timings, datatrove's per-step counts, versions.
`--list-read` instead prints the ids of the documents WarcReader yields (used to tell reader skips from
extraction drops when comparing kept sets; not timed).
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import os
import shutil
import sys
import time
from pathlib import Path

from datatrove_stats import summarize  # a sibling module: this file runs by path in datatrove's venv

RESULT_TAG = "E2E_RESULT "
DUMP = "bench"  # FineWeb's script names folders after the dump


def seed_lid_model(model: Path) -> str:
    """Put `model` where datatrove's FT176LID would have downloaded lid.176.bin (same path expression)."""
    from datatrove.io import cached_assets_path, strip_protocol
    from datatrove.utils.lid import FT176LID

    folder = cached_assets_path(library_name="datatrove", namespace="lid", subfolder=FT176LID.MODEL_SUBFOLDER)
    target = os.path.join(folder, strip_protocol(FT176LID.MODEL_URL).replace("/", "_"))
    if not os.path.exists(target + ".completed"):
        shutil.copyfile(model, target)
        open(target + ".completed", "a").close()
    return target


def fineweb_pipeline(warc: Path, output: Path, timeout: float) -> list:
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
        LanguageFilter,
        URLFilter,
    )
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers.jsonl import JsonlWriter

    removed = output / "removed"
    return [
        WarcReader(str(warc.parent), glob_pattern=warc.name, recursive=False, default_metadata={"dump": DUMP}),
        URLFilter(exclusion_writer=JsonlWriter(f"{removed}/1_url/{DUMP}")),
        Trafilatura(favour_precision=True, timeout=timeout),
        LanguageFilter(
            languages=["en"],
            language_threshold=0.65,
            exclusion_writer=JsonlWriter(
                f"{output}/2_non_english/", output_filename="${language}/" + DUMP + "/${rank}.jsonl.gz"
            ),
        ),
        GopherRepetitionFilter(exclusion_writer=JsonlWriter(f"{removed}/3_gopher_rep/{DUMP}")),
        GopherQualityFilter(exclusion_writer=JsonlWriter(f"{removed}/4_gopher_qual/{DUMP}")),
        C4QualityFilter(filter_no_terminal_punct=False, exclusion_writer=JsonlWriter(f"{removed}/5_c4/{DUMP}")),
        FineWebQualityFilter(exclusion_writer=JsonlWriter(f"{removed}/6_fineweb_qual/{DUMP}")),
        JsonlWriter(f"{output}/output/{DUMP}"),
    ]


def list_read(warc: Path) -> None:
    from datatrove.pipeline.readers import WarcReader

    reader = WarcReader(str(warc.parent), glob_pattern=warc.name, recursive=False)
    print(RESULT_TAG + json.dumps({"read_ids": [doc.id for doc in reader.run(None, 0, 1)]}))


def main() -> None:
    parser = argparse.ArgumentParser(description="datatrove side of e2e_datatrove.py (FineWeb's pipeline)")
    parser.add_argument("warc", type=Path)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--model", type=Path, help="local fastText LID model file to seed datatrove's cache with")
    parser.add_argument("--timeout", type=float, default=1.0, help="Trafilatura's per-page limit (FineWeb: 1)")
    parser.add_argument("--list-read", action="store_true", help="print the ids WarcReader yields, and exit")
    args = parser.parse_args()
    warc = args.warc.resolve()
    if args.list_read:
        return list_read(warc)

    from datatrove.executor import LocalPipelineExecutor

    started = time.perf_counter()
    seeded = seed_lid_model(args.model)
    pipeline = fineweb_pipeline(warc, args.output, args.timeout)
    executor = LocalPipelineExecutor(
        pipeline=pipeline, tasks=1, workers=1, logging_dir=str(args.output / "logs"), skip_completed=False
    )
    executor.run()
    seconds = time.perf_counter() - started
    steps = json.loads((args.output / "logs" / "stats.json").read_text())
    packages = ("datatrove", "trafilatura", "lxml", "warcio", "fasttext-numpy2-wheel", "spacy", "tldextract")
    result = {
        "seconds": seconds,
        "steps": summarize(steps),
        "lid_model_file": seeded,
        "trafilatura_timeout": args.timeout,
        "versions": {name: md.version(name) for name in packages} | {"python": sys.version.split()[0]},
    }
    print(RESULT_TAG + json.dumps(result))


if __name__ == "__main__":
    main()
