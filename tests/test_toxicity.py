"""`toxicity`: one tiny text per drop reason, a clean text kept, word-list matching, empty batches, types."""

from __future__ import annotations

import dataclasses

import pyarrow as pa
import pytest

from core.batch import READ_SCHEMA
from filters.toxicity import DEFAULT_WORD_LIST, ToxicityConfig, ToxicityFilter, WordList, read_word_file

CLEAN = (
    "The town council met on Tuesday to discuss the new library. Members approved the budget for next year.\n"
    "Construction is expected to begin in the spring, and the building should open the following autumn."
)
TOXIC = "You are a fucking idiot. Shut up, you stupid moron.\nNobody cares what you think, dumbass."
# Seven listed words in a calm, product-listing register: the word-list rule, not the classifier, must fire.
LISTED = "Catalogue entry: dildo, vibrator, bukkake, gangbang, fellatio, cumshot and blowjob videos.\n" + CLEAN


@pytest.fixture(scope="module")
def stage():
    return ToxicityFilter(ToxicityConfig())


def batch(texts: list[str | None]) -> pa.Table:
    columns = {name: pa.nulls(len(texts), READ_SCHEMA.field(name).type) for name in READ_SCHEMA.names}
    columns["text"] = pa.array(texts, type=pa.large_string())
    columns["url"] = pa.array(["http://example.com/"] * len(texts), type=pa.string())
    return pa.table(columns, schema=READ_SCHEMA)


def reasons(table: pa.Table) -> list[str | None]:
    return table.column("drop_reason").to_pylist()


def test_clean_text_is_kept_and_scored_low(stage):
    out = stage(batch([CLEAN]))
    assert reasons(out) == [None]
    assert out.column("toxicity_score")[0].as_py() < 0.5
    assert out.column("toxic_frac")[0].as_py() == 0.0
    assert out.column("bad_words")[0].as_py() == 0


def test_toxic_sentences_drop_by_classifier(stage):
    out = stage(batch([TOXIC]))
    assert reasons(out) == ["toxicity.classifier"]
    assert out.column("toxicity_score")[0].as_py() >= 0.8
    assert out.column("toxic_frac")[0].as_py() > 0.5


def test_word_list_rule_fires_on_its_own():
    only_words = ToxicityFilter(ToxicityConfig(max_toxic_frac=1.0))  # the classifier rule can never fire
    out = only_words(batch([LISTED, CLEAN]))
    assert reasons(out) == ["toxicity.word_list", None]
    assert out.column("bad_words").to_pylist()[0] >= 6


def test_one_listed_word_in_a_long_page_is_not_enough(stage):
    text = "He said the film was crap, but the rest of the review was kind.\n" + CLEAN * 5
    out = stage(batch([text]))
    assert reasons(out) == [None]
    assert out.column("bad_words")[0].as_py() == 1


def test_an_earlier_drop_reason_wins(stage):
    table = batch([TOXIC])
    table = table.set_column(table.column_names.index("drop_reason"), "drop_reason", pa.array(["x.y"]))
    assert reasons(stage(table)) == ["x.y"]


def test_empty_batch_and_empty_texts_get_typed_columns(stage):
    for table in (READ_SCHEMA.empty_table(), batch([None, "", "   \n\n"])):
        out = stage(table)
        assert out.num_rows == table.num_rows
        assert out.schema.field("toxicity_score").type == pa.float32()
        assert out.schema.field("toxic_frac").type == pa.float32()
        assert out.schema.field("bad_words").type == pa.int32()
    assert reasons(stage(batch([None, ""]))) == [None, None]


def test_classifier_runs_once_per_batch_on_distinct_sentences(stage, monkeypatch):
    calls = []
    real = stage.model.predict_proba
    monkeypatch.setattr(stage.model, "predict_proba", lambda x: calls.append(x.shape[0]) or real(x), raising=False)
    stage(batch([CLEAN, CLEAN, TOXIC]))
    assert calls == [3 + 3]  # CLEAN's three sentences once (not twice), TOXIC's three


def test_word_list_matches_whole_words_and_phrases():
    words = WordList({"ass", "blow job", "2 girls 1 cup", "ass-fucker", "f.u.c.k"})
    assert words.count("A class assessment, Assam and bass.") == (0, 6)
    assert words.count("Blow job; blow jobs. 2 girls 1 cup!")[0] == 2
    assert words.count("ASS and ass-fucker")[0] == 2
    assert words.count("f.u.c.k")[0] == 0  # entries with punctuation cannot match a word


def test_shipped_ignore_list_skips_neutral_words():
    text = "Breasts, gay rights, Nazi history and God: a library guide. " * 3
    default, c4_like = ToxicityFilter(ToxicityConfig()), ToxicityFilter(ToxicityConfig(use_ignore_list=False))
    assert default(batch([text])).column("bad_words")[0].as_py() == 0
    assert c4_like(batch([text])).column("bad_words")[0].as_py() == 12


def test_shipped_word_list_is_better_profanity_0_7_0():
    entries = read_word_file(DEFAULT_WORD_LIST)
    assert len(entries) == 916
    assert {"bitch", "blow job", "2 girls 1 cup"} <= entries


def test_missing_word_list_is_a_clear_error(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        ToxicityFilter(dataclasses.replace(ToxicityConfig(), word_list_path=str(missing)))
