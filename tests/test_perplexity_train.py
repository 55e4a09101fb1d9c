"""`python -m pipeline train-lm`: a CCNet-layout model folder, byte-identical on a re-run, usable as `model_dir`.

Training needs KenLM's lmplz and build_binary (the `kenlm` Python module only scores): those tests skip, saying so,
where they are not installed (filters/lm_train.py says how to build them).
"""

from __future__ import annotations

import json
import random
import shutil

import pytest

from core.batch import from_rows
from filters.lm_train import LmParams, train_lm
from filters.perplexity import Perplexity, PerplexityConfig, read_cutoffs
from pipeline.cli import main

needs_lmplz = pytest.mark.skipif(
    not (shutil.which("lmplz") and shutil.which("build_binary")),
    reason="KenLM's lmplz/build_binary are not installed (only train-lm needs them; see filters/lm_train.py)",
)
WORDS = (
    "the a river town railway station opened closed church built century north south county village castle "
    "bridge road war king army battle school museum population mill market lake hill forest park harbour"
).split()


def corpus(path, n_docs: int, seed: int) -> str:
    rng = random.Random(seed)
    docs = []
    for d in range(n_docs):
        lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))).capitalize() + "." for _ in range(3)]
        docs.append({"text": "\n".join(lines), "group": f"article-{d // 2}"})
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    return str(path)


SMALL = LmParams(vocab_size=50, prune="0", binary="probing")  # probing: CCNet's own .arpa.bin format


@needs_lmplz
def test_train_lm_writes_a_ccnet_folder_byte_identical_on_rerun(tmp_path):
    text, crawl = corpus(tmp_path / "wiki.jsonl", 120, 0), corpus(tmp_path / "crawl.jsonl", 40, 1)
    first = train_lm([text], str(tmp_path / "a"), SMALL, [crawl], progress=None)
    second = train_lm([text], str(tmp_path / "b"), SMALL, [crawl], progress=None)
    assert set(first["files"]) == {"en.arpa.bin", "en.sp.model", "cutoff.csv"}
    assert first["files"] == second["files"]  # bytes and sha256 of every file
    assert (tmp_path / "a" / "en.arpa.bin").read_bytes()[:8] == b"mmap lm "  # a KenLM binary
    cutoffs = read_cutoffs(str(tmp_path / "a" / "cutoff.csv"))["en"]
    assert cutoffs == sorted(cutoffs) and first["cutoffs"]["p30"] == cutoffs[30]
    stage = Perplexity(PerplexityConfig(model_dir=str(tmp_path / "a")))
    out = stage(from_rows([{"doc_id": 0, "text": "The river town had a railway station."}]))
    assert out.column("perplexity")[0].as_py() > 1 and out.column("ccnet_bucket")[0].as_py() in {"head", "middle"}


@needs_lmplz
def test_cli_train_lm(tmp_path, capsys):
    text = corpus(tmp_path / "wiki.jsonl", 60, 2)
    args = ["train-lm", "--text", text, "--output", str(tmp_path / "m"), "--vocab-size", "50", "--prune", "0"]
    assert main([*args, "--language", "xx"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["params"]["language"] == "xx" and "cutoffs" not in report  # no --crawl, no cutoff.csv
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["train_report.json", "xx.arpa.bin", "xx.sp.model"]


def test_cli_train_lm_without_kenlm_tools(tmp_path, capsys):
    text = corpus(tmp_path / "wiki.jsonl", 40, 3)
    args = ["train-lm", "--text", text, "--output", str(tmp_path / "m"), "--vocab-size", "50"]
    assert main([*args, "--kenlm-bin", str(tmp_path / "nowhere")]) == 2
    assert "KenLM's lmplz not found" in capsys.readouterr().err
