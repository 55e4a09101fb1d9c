"""Train a `perplexity` model as CCNet trained its own (cc_net Makefile, get_wiki_cirrus.py `opening`).

`python -m pipeline train-lm --text FILE... --output DIR [--crawl FILE...]` (pipeline/cli.py) writes a folder in
CCNet's layout, usable as the stage's `model_dir`: `<lang>.sp.model` (SentencePiece unigram, character coverage
0.9995), `<lang>.arpa.bin` (KenLM modified Kneser-Ney 5-gram over those pieces, `lmplz --discount_fallback`, then
`build_binary`), `cutoff.csv` (the 0th-99th percentiles of the new model's document perplexities over the `--crawl`
documents: CCNet's cutoffs are percentiles of *its* models' perplexities over a crawl, so a new model needs its
own), and `train_report.json` (inputs' sha256, flags, sizes, held-out perplexities).

Inputs as train-quality reads them (filters/quality_train.py): `.txt` (documents separated by blank lines),
`.jsonl(.gz)` with `text` (and `group`), `.parquet`. As CCNet, the model learns normalized text
(filters/text_normalizer.py), one paragraph a line: each line of each document is normalized on its own (CCNet
normalizes one Wikipedia opening paragraph per line; normalizing a whole document would glue its lines).
`test_frac` of the documents' groups is held out (seeded) and scored like the stage scores documents.

Needs KenLM's `lmplz` and `build_binary` (on PATH, or `--kenlm-bin DIR`): the `kenlm` Python module scores but
cannot train. They build from the kenlm source with cmake, a C++ compiler and Boost (Debian: cmake g++
libboost-program-options-dev libboost-system-dev libboost-thread-dev libboost-test-dev; zlib1g-dev libbz2-dev
liblzma-dev for compressed ARPA files). Deterministic: SentencePiece trains on one thread on the whole input, and
lmplz/build_binary are deterministic, so the same inputs and flags give byte-identical files.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from filters.perplexity import load_model, perplexity, pieces
from filters.quality_train import read_documents, split_train_test
from filters.text_normalizer import normalize

Progress = Callable[[str], None]


def stderr_progress(line: str) -> None:
    print(f"train-lm: {line}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class LmParams:
    language: str = "en"  # the files are named <language>.sp.model / .arpa.bin, the cutoff column <language>
    vocab_size: int = 8000  # CCNet: 65,536 on 1 M Wikipedia openings (40,000 if too small); ours: MODEL_CARD
    character_coverage: float = 0.9995  # CCNet Makefile
    order: int = 5  # CCNet Makefile: lmplz -o 5
    prune: str = "0 0 1"  # lmplz --prune: count thresholds per order (last repeats); CCNet: none ("0")
    binary: str = "trie -q 8 -b 8 -a 22"  # build_binary data structure + flags; CCNet: "probing" (its default)
    memory: str = "1G"  # lmplz -S (its default is 80% of RAM)
    test_frac: float = 0.1
    seed: int = 0
    min_chars: int = 0  # shorter documents are skipped


def kenlm_tool(name: str, kenlm_bin: str | None) -> str:
    found = str(Path(kenlm_bin) / name) if kenlm_bin else shutil.which(name)
    if not found or not Path(found).is_file():
        raise FileNotFoundError(
            f"KenLM's {name} not found ({'in ' + kenlm_bin if kenlm_bin else 'on PATH'}): build it from the kenlm "
            "source (cmake, g++, Boost program_options/system/thread/test): see filters/lm_train.py"
        )
    return found


def training_lines(docs) -> list[str]:
    """CCNet's training text: normalized, one paragraph (input line) per line, empty lines left out."""
    return [n for d in docs for line in d.text.split("\n") if (n := normalize(line))]


def train_sentencepiece(lines: list[str], path: Path, params: LmParams) -> Path:
    import io

    import sentencepiece as spm

    model = io.BytesIO()  # no model_prefix: the model would record its (temporary) path and differ run to run
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        vocab_size=params.vocab_size,
        character_coverage=params.character_coverage,
        model_type="unigram",
        num_threads=1,  # one thread: the same model every time
        minloglevel=2,
    )
    path.write_bytes(model.getvalue())
    return path


def build_kenlm(pieces_file: Path, arpa_bin: Path, params: LmParams, kenlm_bin: str | None, tmp: Path) -> None:
    lmplz, build_binary = kenlm_tool("lmplz", kenlm_bin), kenlm_tool("build_binary", kenlm_bin)
    arpa = tmp / "model.arpa"
    prune = ["--prune", *params.prune.split()] if params.prune.strip(" 0") else []
    command = [lmplz, "-o", str(params.order), "-S", params.memory, "-T", str(tmp), "--discount_fallback", *prune]
    with open(pieces_file, "rb") as src, open(arpa, "wb") as dst:
        _run(command, stdin=src, stdout=dst)
    kind, *flags = params.binary.split()
    _run([build_binary, *flags, kind, str(arpa), str(arpa_bin)])


def _run(command: list[str], **kwargs) -> None:
    done = subprocess.run(command, stderr=subprocess.PIPE, **kwargs)
    if done.returncode:
        tail = done.stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"{Path(command[0]).name} failed ({done.returncode}): {tail}")


def percentiles(values: list[float]) -> list[float]:
    """The 0th..99th percentiles (numpy's linear interpolation), to 0.1 like CCNet's perplexities."""
    import numpy as np

    return [round(float(v), 1) for v in np.percentile(np.asarray(values, dtype=float), list(range(100)))]


def write_cutoffs(path: Path, language: str, cutoffs: list[float]) -> None:
    rows = [f",{language}"] + [f"{p},{c}" for p, c in enumerate(cutoffs)]
    path.write_text("\n".join(rows) + "\n")


def score_documents(model_dir: Path, language: str, docs) -> list[float]:
    sp, lm = load_model(str(model_dir / f"{language}.arpa.bin"), str(model_dir / f"{language}.sp.model"))
    return [p for d in docs if (p := perplexity(d.text, sp, lm)) is not None]


def train_lm(
    text_files: list[str],
    output: str,
    params: LmParams = LmParams(),
    crawl_files: list[str] = (),
    kenlm_bin: str | None = None,
    progress: Progress | None = stderr_progress,
) -> dict:
    """Train and write the model folder; returns the training report (also written as train_report.json)."""
    say = progress or (lambda line: None)
    docs = [d for f in text_files for d in read_documents(f, params.min_chars, progress)]
    train, held_out = split_train_test(docs, params.test_frac, params.seed)
    lines = training_lines(train)
    if not lines:
        raise ValueError("no training text in the --text files")
    say(f"{len(train):,} documents ({len(lines):,} lines) to train on, {len(held_out):,} held out")
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    lang = params.language
    with tempfile.TemporaryDirectory(dir=out) as tmp_name:
        tmp = Path(tmp_name)
        say(f"SentencePiece: unigram, {params.vocab_size:,} pieces")
        sp_model = train_sentencepiece(lines, tmp / "sp.model", params)
        sp = _sentencepiece(sp_model)
        pieces_file = tmp / "pieces.txt"
        pieces_file.write_text("".join(pieces(sp, line) + "\n" for line in lines), encoding="utf-8")
        say(f"lmplz -o {params.order}, then build_binary {params.binary}")
        build_kenlm(pieces_file, tmp / "model.arpa.bin", params, kenlm_bin, tmp)
        shutil.move(str(sp_model), out / f"{lang}.sp.model")
        shutil.move(str(tmp / "model.arpa.bin"), out / f"{lang}.arpa.bin")
    report = _report(text_files, crawl_files, out, params, len(train), len(lines))
    report["held_out"] = _summary(score_documents(out, lang, held_out))
    if crawl_files:
        crawl = [d for f in crawl_files for d in read_documents(f, 0, progress)]
        cutoffs = percentiles(score_documents(out, lang, crawl))
        write_cutoffs(out / "cutoff.csv", lang, cutoffs)
        report["cutoffs"] = {"documents": len(crawl), "p30": cutoffs[30], "p60": cutoffs[60]}
        say(f"cutoff.csv from {len(crawl):,} crawl documents: head < {cutoffs[30]}, tail >= {cutoffs[60]}")
    else:
        say("no --crawl documents: no cutoff.csv, so the stage would bucket with CCNet's cutoffs (another model's)")
    report["files"] = {p.name: {"bytes": p.stat().st_size, "sha256": _sha256(p)} for p in sorted(out.iterdir())}
    (out / "train_report.json").write_text(json.dumps(report, indent=1) + "\n")
    return report


def _sentencepiece(path: Path):
    import sentencepiece

    sp = sentencepiece.SentencePieceProcessor()
    sp.load(str(path))
    return sp


def _report(text_files, crawl_files, out: Path, params: LmParams, train_docs: int, train_lines: int) -> dict:
    return {
        "params": asdict(params),
        "inputs": {
            kind: {f: _sha256(Path(f)) for f in files}
            for kind, files in (("text", text_files), ("crawl", crawl_files))
        },
        "train": {"documents": train_docs, "lines": train_lines},
        "output": str(out),
    }


def _summary(values: list[float]) -> dict:
    import numpy as np

    if not values:
        return {"documents": 0}
    q = np.percentile(values, [10, 50, 90])
    return {"documents": len(values), "p10": round(q[0], 1), "median": round(q[1], 1), "p90": round(q[2], 1)}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
