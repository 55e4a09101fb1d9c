"""Train the `quality_classifier` model: fastText supervised, positives vs negatives, deterministic.

`python -m pipeline train-quality --positive FILE... --negative FILE... --output MODEL.bin` (pipeline/cli.py)
calls `train_quality` here. Input files hold documents:
- `.txt`: one document per block of lines separated by a blank line (a one-line-per-document file
  works if its documents are separated by blank lines);
- `.jsonl` / `.jsonl.gz`: one JSON object per line with a `text` field (and an optional `group`);
- `.parquet`: a `text` column (and an optional `group` column).
Documents that share a `group` (sections of one article, say) go to the same side of the train/test
split, so the held-out numbers are not inflated by near-copies; without one, each document is its own group.

Deterministic: documents are split and shuffled with `seed`, fastText trains on one thread with the same
seed, in a child process whose malloc returns zero-filled memory (glibc's MALLOC_PERTURB_=255: fastText reads
memory it never initialised), so the same inputs and flags give the same model (tests/test_quality_classifier.py
checks it) and the calling process's allocator is left alone.
`--quantize` writes a product-quantized `.ftz` (fastText's `quantize(retrain=True)`): MBs, not hundreds.
Held-out metrics are for the positive label at 0.5 (argmax) and at the stage's default 0.25.

Progress (issue 13 item 7): `train_quality` says what it is doing, a line at a time, to `progress` (stderr by
default): each input file and the documents read so far, the split, fastText's own progress (its `verbose=2`
output, which it writes to file descriptor 2, relayed a line every PROGRESS_EVERY_S), quantizing, saving,
evaluation. fastText's output is read from the child's stderr. Printing changes nothing that is trained:
`verbose` only decides what fastText prints.
"""

from __future__ import annotations

import collections
import contextlib
import gzip
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from filters.quality_classifier import full_label, label_scores, one_line

STAGE_MIN_SCORE = 0.25  # the stage's default threshold (RedPajama-v1); reported next to argmax
PROGRESS_EVERY_S = 10.0  # a "so far" line (documents read, fastText's progress) at most this often

Progress = Callable[[str], None]  # hears one line of progress at a time


def stderr_progress(line: str) -> None:
    """The default `progress`: `train-quality: <line>` on stderr."""
    print(f"train-quality: {line}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Doc:
    text: str
    group: str


@dataclass(frozen=True)
class TrainParams:
    label: str = "wiki"
    negative_label: str = "cc"
    epoch: int = 25  # fastText's classification tutorial: 25 epochs, word bigrams; its 5-epoch default underfits
    lr: float = 0.5  # the tutorial says 1.0; on our data 0.5 and 1.0 gave the same held-out scores
    wordNgrams: int = 2
    dim: int = 64
    minCount: int = 2
    bucket: int = 200_000  # hashed n-gram rows; 2M (the default) makes a 500 MB .bin
    seed: int = 0
    test_frac: float = 0.1
    quantize: bool = False
    cutoff: int = 50_000  # rows kept by --quantize (fastText's quantize cutoff)
    min_chars: int = 200  # shorter documents are skipped: headings and menus carry no signal


@dataclass
class TrainReport:
    params: dict
    inputs: dict = field(default_factory=dict)  # path -> sha256
    counts: dict = field(default_factory=dict)
    held_out: dict = field(default_factory=dict)
    output: str = ""
    output_bytes: int = 0


def read_documents(path: str | Path, min_chars: int = 0, progress: Progress | None = None) -> list[Doc]:
    """Documents of one input file (format by suffix, see the module docstring), in file order. `progress` hears
    how many were read and kept so far, every PROGRESS_EVERY_S, and once at the end."""
    path = Path(path)
    docs, read = [], 0
    so_far = _Every(PROGRESS_EVERY_S)
    for read, row in enumerate(_rows(path), 1):
        text = row.get("text") or ""
        if len(text.strip()) >= min_chars:
            docs.append(Doc(text, str(row.get("group") or f"{path.name}#{read - 1}")))
        if progress and so_far():
            progress(f"  {path.name}: {read:,} documents read so far, {len(docs):,} kept")
    _say(progress, f"  {path.name}: {read:,} documents, {len(docs):,} of at least {min_chars} chars kept")
    return docs


def _rows(path: Path):
    name = path.name.lower()
    if name.endswith((".jsonl", ".jsonl.gz")):
        return _jsonl_rows(path)
    if name.endswith(".parquet"):
        return _parquet_rows(path)
    if name.endswith(".txt"):
        return ({"text": block} for block in _blocks(path.read_text(encoding="utf-8")))
    raise ValueError(f"train-quality: unsupported input {path} (use .txt, .jsonl, .jsonl.gz or .parquet)")


class _Every:
    """`every()` is true at most once per `seconds` (not on the first call: a short job prints nothing extra)."""

    def __init__(self, seconds: float, clock=time.monotonic):
        self.seconds, self.clock = seconds, clock
        self.last = clock()

    def __call__(self) -> bool:
        now = self.clock()
        if now - self.last < self.seconds:
            return False
        self.last = now
        return True


def _blocks(content: str) -> list[str]:
    blocks, current = [], []
    for line in content.splitlines():
        if line.strip():
            current.append(line)
        elif current:
            blocks.append("\n".join(current))
            current = []
    if current:
        blocks.append("\n".join(current))
    return blocks


def _jsonl_rows(path: Path):
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def _parquet_rows(path: Path):
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    if "text" not in table.column_names:
        raise ValueError(f"train-quality: {path} has no 'text' column (columns: {', '.join(table.column_names)})")
    columns = ["text"] + (["group"] if "group" in table.column_names else [])
    return iter(table.select(columns).to_pylist())


def split_train_test(docs: list[Doc], test_frac: float, seed: int) -> tuple[list[Doc], list[Doc]]:
    """Seeded split by group: about `test_frac` of the groups (and so of the documents) are held out."""
    groups = sorted({d.group for d in docs})
    random.Random(seed).shuffle(groups)
    held = set(groups[: round(len(groups) * test_frac)])
    return [d for d in docs if d.group not in held], [d for d in docs if d.group in held]


def write_training_file(path: Path, labelled: list[tuple[str, Doc]], seed: int) -> None:
    """fastText's input: `__label__x text` per line, shuffled with `seed` (SGD sees classes interleaved)."""
    lines = [f"{label} {one_line(doc.text)}" for label, doc in labelled]
    random.Random(seed).shuffle(lines)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def train_model(train_file: Path, params: TrainParams, progress: Progress | None = None):
    """fastText supervised training, then `--quantize`, in a child process (`_fit`, see the module docstring);
    with `progress`, fastText's own progress is relayed to it. Returns the model, loaded from what the child saved."""
    import fasttext

    model_path = train_file.with_suffix(".model")
    _say(progress, f"fastText: training ({params.epoch} epochs, dim {params.dim}, wordNgrams {params.wordNgrams})")
    started = time.monotonic()
    command = [sys.executable, "-m", "filters.quality_train", str(train_file), str(model_path)]
    command += [json.dumps(asdict(params)), "1" if progress else "0"]
    env = {**os.environ, "MALLOC_PERTURB_": "255"}  # malloc fills new blocks with 255 ^ 0xff = 0
    with subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as child:
        relay, tail = _LineRelay(progress or (lambda line: None), "fastText: "), collections.deque(maxlen=20)
        while chunk := child.stderr.read1(65536):
            relay.feed(chunk)
            tail.append(chunk)
        relay.close()
    if child.returncode != 0:  # fastText's only training error in practice: "Encountered NaN."
        said = b"".join(tail).decode("utf-8", errors="replace").strip().splitlines()[-1:]
        raise RuntimeError(f"train-quality: fastText training failed ({' '.join(said)}); try a smaller --lr")
    _say(
        progress,
        f"fastText: trained{' and quantized' if params.quantize else ''} in {time.monotonic() - started:.0f} s",
    )
    return fasttext.load_model(str(model_path))


def _fit(train_file: str, model_path: str, params: TrainParams, verbose: int) -> None:
    """The child process: train, quantize, save."""
    import fasttext

    model = _train_supervised(fasttext, Path(train_file), params, verbose)
    if params.quantize:
        print("quantizing (retrain on the training file, cutoff %d)" % params.cutoff, file=sys.stderr, flush=True)
        options = {"qnorm": True, "retrain": True, "cutoff": params.cutoff, "thread": 1, "verbose": verbose}
        model.quantize(input=train_file, **options)
    model.save_model(model_path)


def _say(progress: Progress | None, line: str) -> None:
    if progress:
        progress(line)


class _LineRelay:
    """fastText's output as lines: a segment ended by a newline is final and always passed on; one ended by "\\r"
    (a progress line that the next one overwrites) is passed on at most every `every_s`. Errors of `progress`
    are not raised here: the relay must keep draining the pipe or fastText would block on a full one."""

    def __init__(self, progress: Progress, prefix: str, every_s: float | None = None, clock=time.monotonic):
        self.progress, self.prefix = progress, prefix
        self.every = _Every(PROGRESS_EVERY_S if every_s is None else every_s, clock)
        self.pending = b""

    def feed(self, chunk: bytes) -> None:
        self.pending += chunk
        while True:
            ends = [i for i in (self.pending.find(b"\r"), self.pending.find(b"\n")) if i >= 0]
            if not ends:
                return
            end = min(ends)
            segment, final = self.pending[:end], self.pending[end : end + 1] == b"\n"
            self.pending = self.pending[end + 1 :]
            if final or self.every():
                self._emit(segment)

    def close(self) -> None:
        self._emit(self.pending)
        self.pending = b""

    def _emit(self, segment: bytes) -> None:
        text = " ".join(segment.decode("utf-8", errors="replace").split())
        if text:
            with contextlib.suppress(Exception):
                self.progress(self.prefix + text)


def _train_supervised(fasttext, train_file: Path, params: TrainParams, verbose: int = 0):
    return fasttext.train_supervised(
        input=str(train_file),
        epoch=params.epoch,
        lr=params.lr,
        wordNgrams=params.wordNgrams,
        dim=params.dim,
        minCount=params.minCount,
        bucket=params.bucket,
        seed=params.seed,
        thread=1,  # more threads make fastText's SGD order (and so the model) non-deterministic
        verbose=verbose,  # 2: progress to stderr (relayed by train_model); the model is the same
    )


def held_out_metrics(model, positives: list[Doc], negatives: list[Doc], label: str) -> dict:
    """Accuracy, precision and recall of the positive label on held-out documents, at 0.5 and 0.25."""
    scores = label_scores(model, [one_line(d.text) for d in positives + negatives], full_label(label))
    truth = [True] * len(positives) + [False] * len(negatives)
    return {f"at_{t}": _confusion(scores, truth, t) for t in (0.5, STAGE_MIN_SCORE)}


def _confusion(scores: list[float], truth: list[bool], threshold: float) -> dict:
    pred = [s >= threshold for s in scores]
    tp = sum(p and t for p, t in zip(pred, truth))
    fp = sum(p and not t for p, t in zip(pred, truth))
    fn = sum(t and not p for p, t in zip(pred, truth))
    correct = sum(p == t for p, t in zip(pred, truth))
    return {
        "n": len(truth),
        "accuracy": round(correct / len(truth), 4) if truth else 0.0,
        "precision": round(tp / (tp + fp), 4) if tp + fp else 0.0,
        "recall": round(tp / (tp + fn), 4) if tp + fn else 0.0,
    }


def load_split(
    paths: list[str], params: TrainParams, progress: Progress | None = None, side: str = "documents"
) -> tuple[list[Doc], list[Doc]]:
    """All documents of some input files, split into (train, held-out) by the seeded group split."""
    docs = []
    for n, path in enumerate(paths, 1):
        _say(progress, f"reading {side} file {n} of {len(paths)}: {path}")
        docs += read_documents(path, params.min_chars, progress)
    if not docs:
        raise ValueError(f"train-quality: no document of at least {params.min_chars} chars in {', '.join(paths)}")
    train, test = split_train_test(docs, params.test_frac, params.seed)
    _say(progress, f"{side}: {len(docs):,} documents, split by group: {len(train):,} train, {len(test):,} held out")
    return train, test


def train_quality(
    positive: list[str],
    negative: list[str],
    output: str,
    params: TrainParams,
    progress: Progress | None = stderr_progress,
) -> TrainReport:
    """Read, split, train, save, evaluate. The CLI's `train-quality` is this function plus printing the report.
    `progress` hears what is being done, a line at a time (None: nothing is printed)."""
    pos_train, pos_test = load_split(positive, params, progress, "positive")
    neg_train, neg_test = load_split(negative, params, progress, "negative")
    pos_label, neg_label = full_label(params.label), full_label(params.negative_label)
    if pos_label == neg_label:
        raise ValueError(f"train-quality: positive and negative labels are the same: {pos_label}")
    with tempfile.TemporaryDirectory(prefix="train-quality-") as tmp:
        train_file = Path(tmp) / "train.txt"
        labelled = [(pos_label, d) for d in pos_train] + [(neg_label, d) for d in neg_train]
        _say(progress, f"writing the training file: {len(labelled):,} documents, shuffled")
        write_training_file(train_file, labelled, params.seed)
        model = train_model(train_file, params, progress)
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(train_file.with_suffix(".model"), output)  # the bytes the child wrote
    report = TrainReport(params=asdict(params), output=output, output_bytes=Path(output).stat().st_size)
    _say(progress, f"saved {output} ({report.output_bytes:,} bytes); hashing the inputs (sha256)")
    report.inputs = {p: _sha256(p) for p in positive + negative}
    report.counts = {
        "train": {"positive": len(pos_train), "negative": len(neg_train)},
        "held_out": {"positive": len(pos_test), "negative": len(neg_test)},
    }
    if pos_test and neg_test:
        _say(progress, f"evaluating on {len(pos_test) + len(neg_test):,} held-out documents")
        report.held_out = held_out_metrics(model, pos_test, neg_test, params.label)
    _say(progress, "done")
    return report


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


if __name__ == "__main__":  # the training child of `train_model`
    _train_file, _model_path, _params, _verbose = sys.argv[1:]
    _fit(_train_file, _model_path, TrainParams(**json.loads(_params)), 2 if _verbose == "1" else 0)
