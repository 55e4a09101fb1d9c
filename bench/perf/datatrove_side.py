"""datatrove's side of bench.perf.bench_extract: WarcReader -> Trafilatura -> LanguageFilter -> JsonlWriter, one task.

Runs with the python of bench/out/venv-datatrove (datatrove 0.10.1, trafilatura 2.3.1, warcio,
fasttext-numpy2-wheel), never with the project's venv: it must not import `pipeline`. Prints one JSON line
(timings and counts) on stdout for bench_extract.py to read. Runs by path; imports datatrove_stats.py beside it.

Settings, FineWeb's as datatrove spells them: `Trafilatura(favour_precision=True, deduplicate=False,
timeout=1)` (include_comments=False is hard-wired in datatrove; include_tables is trafilatura's default,
True) and `LanguageFilter(languages=["en"], language_threshold=0.65)`.

Offline language model: datatrove's `FT176LID.model` would download lid.176.bin into its asset cache on
first use, which fails here. `LocalFT176LID` overrides that property to load a local file (the project's
lid.176.ftz), and is swapped into the filter; the prediction code (`FastTextLID.predict`) is datatrove's.

Modes: `executor` runs `LocalPipelineExecutor(tasks=1, workers=1)` (logs, stats, completion markers: what a
user runs); `chain` calls the steps' `run()` generators directly, without the executor's bookkeeping.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import sys
import time
from collections import deque
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.extractors import Trafilatura
from datatrove.pipeline.filters import LanguageFilter
from datatrove.pipeline.readers import WarcReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.lid import FT176LID
from datatrove_stats import summarize  # a sibling module: this file runs by path in datatrove's venv


class LocalFT176LID(FT176LID):
    """datatrove's fastText lid.176 wrapper, loading a local model file instead of downloading one."""

    def __init__(self, languages: list[str] | None, model_path: str):
        super().__init__(languages)
        self.model_path = model_path

    @property
    def model(self):
        if self._model is None:
            from fasttext.FastText import _FastText  # what FastTextLID.model does after its download

            self._model = _FastText(self.model_path)
        return self._model


def build_pipeline(warc: Path, model_path: str, output: Path) -> list:
    language = LanguageFilter(languages=["en"], language_threshold=0.65)
    language.model = LocalFT176LID(["en"], model_path)
    return [
        WarcReader(data_folder=str(warc.parent), glob_pattern=warc.name, recursive=False),
        Trafilatura(favour_precision=True, deduplicate=False, timeout=1),
        language,
        JsonlWriter(str(output / "docs")),
    ]


def run_executor(pipeline: list, output: Path) -> list[dict]:
    executor = LocalPipelineExecutor(
        pipeline=pipeline, tasks=1, workers=1, logging_dir=str(output / "logs"), skip_completed=False
    )
    executor.run()
    return json.loads((output / "logs" / "stats.json").read_text())


def run_chain(pipeline: list) -> list[dict]:
    data = None
    for step in pipeline:
        data = step(data, 0, 1)
    deque(data, maxlen=0)
    for step in pipeline:  # the executor closes writers via its stats pass; do it here
        if hasattr(step, "close"):
            step.close()
    return [step.stats.to_dict() for step in pipeline]


def main() -> None:
    parser = argparse.ArgumentParser(description="datatrove side of bench_extract.py")
    parser.add_argument("warc", type=Path)
    parser.add_argument("--model", required=True, help="local fastText LID model (lid.176.ftz)")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--mode", choices=("executor", "chain"), default="executor")
    args = parser.parse_args()
    pipeline = build_pipeline(args.warc.resolve(), args.model, args.output)
    started = time.perf_counter()
    steps = run_executor(pipeline, args.output) if args.mode == "executor" else run_chain(pipeline)
    seconds = time.perf_counter() - started
    result = {
        "mode": args.mode,
        "seconds": seconds,
        "steps": summarize(steps),
        "versions": {
            name: md.version(name) for name in ("datatrove", "trafilatura", "warcio", "fasttext-numpy2-wheel")
        }
        | {"python": sys.version.split()[0]},
    }
    print("BENCH_RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
