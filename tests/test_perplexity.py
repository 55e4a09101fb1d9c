"""The `perplexity` stage: CCNet's document perplexity and buckets, keep/drop, CCNet-format models, the report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import kenlm
import pyarrow as pa
import pytest

from core.batch import from_rows
from filters import perplexity as ppl_module
from filters.perplexity import (
    CCNET_CUTOFFS,
    SHIPPED_MODEL_DIR,
    Perplexity,
    PerplexityConfig,
    bucket_of,
    kept_boundary,
    load_model,
    percentile_of,
    perplexity,
    read_cutoffs,
)
from filters.text_normalizer import normalize
from pipeline.config import ConfigError, load
from tests.conftest import shared_data

WIKI = (
    "The railway line was opened in 1862 and connected the town with the county capital. It was closed to "
    "passengers in 1951, and the station building is now a private house."
)
SPAM = "click here >> login | register | cart (0) | free shipping!!! buy now best price $$$ 100% off"


def batch(texts, languages=None):
    table = from_rows([{"doc_id": i, "text": t} for i, t in enumerate(texts)])
    if languages is not None:
        table = table.append_column("language", pa.array(languages, pa.string()))
    return table


@pytest.fixture(scope="module")
def shipped():
    return load_model(f"{SHIPPED_MODEL_DIR}/en.arpa.bin", f"{SHIPPED_MODEL_DIR}/en.sp.model")


def test_document_perplexity_is_ccnet_formula(shipped):
    """mine.py: normalize the document, SentencePiece pieces joined by spaces, DocLM over its (one) line."""
    sp, lm = shipped
    text = WIKI + "\n" + "Second paragraph, with ÄCCENTS and 42 digits."
    line = " ".join(sp.encode_as_pieces(normalize(text)))
    assert "\n" not in line
    expected = round(10.0 ** (-lm.score(line, bos=True, eos=True) / (len(line.split()) + 1)), 1)
    assert perplexity(text, sp, lm) == expected


def test_line_unit_scores_each_line(shipped):
    sp, lm = shipped
    lines = [WIKI, "", SPAM]
    encoded = [" ".join(sp.encode_as_pieces(normalize(x))) for x in lines]
    log = sum(lm.score(e) for e in encoded)
    length = sum(len(e.split()) + 1 for e in encoded)
    assert perplexity("\n".join(lines), sp, lm, "line") == round(10.0 ** (-log / length), 1)


def test_no_text_no_perplexity(shipped):
    assert perplexity("", *shipped) is None and perplexity(" \n\t", *shipped) is None


def test_wikipedia_prose_scores_below_page_furniture(shipped):
    assert perplexity(WIKI, *shipped) < perplexity(SPAM, *shipped)


def test_buckets_as_ccnet_perplexity_bucket():
    cutoffs = read_cutoffs(CCNET_CUTOFFS)["en"]
    assert (cutoffs[30], cutoffs[60]) == (340.0, 520.0)  # cc_net/data/cutoff.csv, column en
    assert bucket_of(339.9, cutoffs, 30, 60) == "head"
    assert bucket_of(340.0, cutoffs, 30, 60) == "middle"  # strictly below a cutoff
    assert bucket_of(520.0, cutoffs, 30, 60) == "tail"
    assert bucket_of(None, cutoffs, 30, 60) == bucket_of(10.0, None, 30, 60) == "all"


def test_percentile_agrees_with_bucket():
    cutoffs = read_cutoffs(CCNET_CUTOFFS)["en"]
    for value in [0.0, 150.0, 339.9, 340.0, 519.9, 520.0, 3590.0, 1e6]:
        p = percentile_of(value, cutoffs)
        expected = "head" if p < 0.30 else "middle" if p < 0.60 else "tail"
        assert bucket_of(value, cutoffs, 30, 60) == expected, value


def test_stage_records_and_keeps_head_and_middle():
    stage = Perplexity(PerplexityConfig())
    out = stage(batch([WIKI, SPAM, ""], ["en", "en", "en"]))
    rows = out.select(["perplexity", "ccnet_bucket", "perplexity_percentile", "drop_reason"]).to_pylist()
    assert rows[0]["ccnet_bucket"] == "head" and rows[0]["drop_reason"] is None
    assert rows[1]["ccnet_bucket"] == "tail" and rows[1]["drop_reason"] == "perplexity.tail"
    assert rows[2] == {"perplexity": None, "ccnet_bucket": "all", "perplexity_percentile": None,
                       "drop_reason": "perplexity.all"}  # fmt: skip
    assert out.schema.field("perplexity").type == pa.float64()


def test_keep_buckets_and_max_perplexity():
    text = [WIKI, SPAM]
    head_only = Perplexity(PerplexityConfig(keep_buckets=("head",)))
    assert head_only(batch(text, ["en"] * 2)).column("drop_reason").to_pylist() == [None, "perplexity.tail"]
    every = Perplexity(PerplexityConfig(keep_buckets=("head", "middle", "tail")))
    assert every(batch(text, ["en"] * 2)).column("drop_reason").to_pylist() == [None, None]
    capped = Perplexity(PerplexityConfig(keep_buckets=("head", "middle", "tail"), max_perplexity=1.0))
    assert capped(batch(text, ["en"] * 2)).column("drop_reason").to_pylist() == ["perplexity.head", "perplexity.tail"]


def test_first_reason_wins_and_language_without_model():
    table = batch([WIKI, WIKI], ["en", "de"])
    table = table.set_column(table.column_names.index("drop_reason"), "drop_reason", pa.array(["x.y", None]))
    out = Perplexity(PerplexityConfig())(table)
    assert out.column("drop_reason").to_pylist() == ["x.y", "perplexity.all"]  # de: no model, bucket all
    assert out.column("ccnet_bucket").to_pylist() == ["head", "all"]
    kept = Perplexity(PerplexityConfig(keep_buckets=("head", "middle", "all")))(batch([WIKI], ["de"]))
    assert kept.column("drop_reason").to_pylist() == [None]


def test_without_language_column():
    out = Perplexity(PerplexityConfig())(batch([WIKI]))
    assert out.column("ccnet_bucket").to_pylist() == ["head"]


def test_empty_batch_keeps_schema():
    out = Perplexity(PerplexityConfig())(batch([], []))
    assert out.num_rows == 0 and {"perplexity", "ccnet_bucket", "perplexity_percentile"} <= set(out.column_names)


def ccnet_folder(tmp_path: Path, languages=("en", "de")) -> Path:
    """A folder laid out like CCNet's published models (`<lang>.arpa.bin` KenLM binary, `<lang>.sp.model`)."""
    folder = tmp_path / "lm_sp"
    folder.mkdir()
    for lang in languages:
        shutil.copy(f"{SHIPPED_MODEL_DIR}/en.arpa.bin", folder / f"{lang}.arpa.bin")
        shutil.copy(f"{SHIPPED_MODEL_DIR}/en.sp.model", folder / f"{lang}.sp.model")
    return folder


def test_ccnet_folder_loads_one_model_per_language_once(tmp_path, monkeypatch):
    folder = ccnet_folder(tmp_path)
    loads = []
    real = ppl_module.load_model
    monkeypatch.setattr(ppl_module, "load_model", lambda *paths: loads.append(paths) or real(*paths))
    stage = Perplexity(PerplexityConfig(languages=("en", "de"), model_dir=str(folder)))
    for _ in range(3):
        out = stage(batch([WIKI, SPAM, WIKI], ["en", "de", "fr"]))
    assert sorted(Path(p[0]).name for p in loads) == ["de.arpa.bin", "en.arpa.bin"]
    # no cutoff.csv in the folder: CCNet's own cutoffs (en head < 340, de head < 370)
    values = out.column("perplexity").to_pylist()
    cutoffs = read_cutoffs(CCNET_CUTOFFS)
    assert out.column("ccnet_bucket").to_pylist() == [
        bucket_of(values[0], cutoffs["en"], 30, 60),
        bucket_of(values[1], cutoffs["de"], 30, 60),
        "all",
    ]


def test_folder_cutoffs_win_over_ccnets(tmp_path):
    folder = ccnet_folder(tmp_path, ["en"])
    (folder / "cutoff.csv").write_text(",en\n" + "".join(f"{p},{1000 + p}\n" for p in range(100)))
    out = Perplexity(PerplexityConfig(model_dir=str(folder)))(batch([SPAM], ["en"]))
    value = out.column("perplexity")[0].as_py()
    assert out.column("ccnet_bucket").to_pylist() == ["head" if value < 1030 else "middle" if value < 1060 else "tail"]


def test_an_arpa_text_file_loads_too(tmp_path):
    """kenlm.Model reads ARPA text as well as binaries: a tiny bigram model, named like CCNet's files."""
    folder = ccnet_folder(tmp_path, ["en"])
    sp, _ = load_model(f"{SHIPPED_MODEL_DIR}/en.arpa.bin", str(folder / "en.sp.model"))
    arpa = (
        "\\data\\\nngram 1=4\nngram 2=2\n\n\\1-grams:\n-1.0\t<unk>\t0\n-99\t<s>\t-0.3\n-0.5\t</s>\t0\n"
        "-0.3\t▁the\t-0.2\n\n\\2-grams:\n-0.2\t<s> ▁the\n-0.1\t▁the </s>\n\n\\end\\\n"
    )
    (folder / "en.arpa.bin").write_text(arpa)
    model = kenlm.Model(str(folder / "en.arpa.bin"))
    out = Perplexity(PerplexityConfig(model_dir=str(folder)))(batch(["the"], ["en"]))
    line = " ".join(sp.encode_as_pieces("the"))
    assert out.column("perplexity").to_pylist() == [round(10 ** (-model.score(line) / (len(line.split()) + 1)), 1)]


def write_config(tmp_path: Path, stage_yaml: str) -> Path:
    path = tmp_path / "stages.yaml"
    path.write_text(f"stages:\n  - stage: read\n  - stage: extract\n  - stage: perplexity\n{stage_yaml}")
    return path


@pytest.mark.parametrize(
    "keys, message",
    [
        ("    keep_buckets: [head, best]\n", "keep_buckets: 'best' is not one of head, middle, tail, all"),
        ("    head_percentile: 60\n    tail_percentile: 30\n", "head_percentile 60 must be below tail_percentile"),
        ("    languages: [en, de]\n", "the shipped model is English only"),
        ("    unit: paragraph\n", "'paragraph' is not one of"),
    ],
)
def test_config_errors(tmp_path, keys, message):
    with pytest.raises(ConfigError, match=message):
        load(write_config(tmp_path, keys))


def test_config_error_for_cutoffs_without_the_language(tmp_path):
    folder = ccnet_folder(tmp_path, ["xx"])
    with pytest.raises(ConfigError, match=r"has no cutoffs for \['xx'\]"):
        load(write_config(tmp_path, f"    languages: [xx]\n    model_dir: {folder}\n"))


def test_report_threshold_is_the_kept_buckets_upper_cutoff():
    assert kept_boundary({"keep_buckets": ["head", "middle"], "head_percentile": 30, "tail_percentile": 60}) == 0.6
    assert kept_boundary({"keep_buckets": ["head"], "head_percentile": 25, "tail_percentile": 60}) == 0.25
    assert kept_boundary({"keep_buckets": ["head", "middle", "tail"]}) is None


def test_report_histogram_uses_the_threshold_function():
    from pipeline.report_html import _histograms

    stage = {"name": "perplexity", "histograms": {"perplexity_percentile": [1] * 50},
             "config": {"keep_buckets": ["head"], "head_percentile": 30, "tail_percentile": 60}}  # fmt: skip
    assert _histograms([stage])[0]["threshold"] == 0.3


def test_token_shards_carry_perplexity_and_bucket():
    import numpy as np

    from tokenization.shards import _token_table

    docs = pa.table({"doc_id": [1, 2], "text": ["a", "b"], "perplexity": [12.5, None], "ccnet_bucket": ["head", None]})
    table = _token_table(docs, [np.array([1, 2], np.uint16), np.array([3], np.uint16)], np.uint16)
    assert table.column("perplexity").to_pylist() == [12.5, None]
    assert table.column("ccnet_bucket").to_pylist() == ["head", None]
    bare = _token_table(docs.select(["doc_id", "text"]), [np.array([1], np.uint16)] * 2, np.uint16)
    assert bare.column("ccnet_bucket").null_count == 2


def ccnet_samples() -> list[dict]:
    """CCNet's own output documents (with its perplexity and bucket), or a skip saying the shared data is absent."""
    folder = shared_data("quality/ccnet_head_samples")
    return [json.loads(line) for f in sorted(folder.glob("*.jsonl")) for line in f.open()]


def test_ccnet_samples_carry_ccnets_fields_and_agree_with_its_cutoffs():
    docs = ccnet_samples()
    assert len(docs) == 20
    cutoffs = read_cutoffs(CCNET_CUTOFFS)["en"]
    for doc in docs:
        meta = doc["metadata"]
        assert meta["language"] == "en" and meta["bucket"] == "head"
        assert bucket_of(meta["perplexity"], cutoffs, 30, 60) == meta["bucket"]  # CCNet's number, CCNet's table


def test_shipped_model_puts_ccnets_head_samples_in_head():
    docs = ccnet_samples()
    out = Perplexity(PerplexityConfig())(batch([d["text"] for d in docs], ["en"] * len(docs)))
    agree = sum(b == d["metadata"]["bucket"] for b, d in zip(out.column("ccnet_bucket").to_pylist(), docs))
    assert agree >= 18  # 19 of 20 with the shipped model (BENCHMARKS.md "Perplexity")
