"""`language_prepass` (issue 14 item 1): pages confidently in another language are dropped before extraction
with their own reason; empty, tiny, mixed and uncertain pages pass untouched, and so do pages it cannot judge
cheaply (WET text, too many tags, nesting too deep)."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pytest

from core.batch import READ_SCHEMA
from filters.language_prepass import REASON, LanguagePrepass, LanguagePrepassConfig
from pipeline.config import StageSpec, load
from pipeline.steps import build_steps
from tests.conftest import shared_data, write_config

ENGLISH = (
    "The city council met on Tuesday evening to discuss the new budget for schools and public libraries. "
    "Several residents spoke about the need for longer opening hours, and the mayor promised a decision "
    "before the end of the month. The proposal will be published online next week for comments."
)
GERMAN = (
    "Der Stadtrat hat am Dienstagabend über den neuen Haushalt für Schulen und öffentliche Bibliotheken "
    "beraten. Mehrere Bürgerinnen und Bürger forderten längere Öffnungszeiten, und der Bürgermeister "
    "versprach eine Entscheidung noch vor dem Ende des Monats. Der Vorschlag wird nächste Woche veröffentlicht."
)
LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et "
    "dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip."
)


def page(*paragraphs: str, wrap: str = "{}") -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html><head><title>t</title></head><body>{wrap.format(f'<article>{body}</article>')}</body></html>".encode()
    )


def reasons(htmls: list[bytes | None], **config) -> list[str | None]:
    rows = [dict.fromkeys(READ_SCHEMA.names) for _ in htmls]
    for i, (row, html) in enumerate(zip(rows, htmls)):
        row.update(doc_id=i, html=html, text=None if html is not None else ENGLISH)
    stage = LanguagePrepass(LanguagePrepassConfig(**config))
    out = stage(pa.Table.from_pylist(rows, schema=READ_SCHEMA))
    assert out.num_rows == len(htmls)
    return out.column("drop_reason").to_pylist()


def test_empty_and_tiny_text_pass_untouched():
    empty, blank = b"<html><body></body></html>", page("&nbsp; \n\t ")
    tiny = page("Guten Tag, willkommen auf unserer Seite.")  # German, but under min_chars
    assert reasons([empty, blank, tiny, b""]) == [None] * 4
    stage = LanguagePrepass(LanguagePrepassConfig(min_chars=1))
    assert stage.prepass_text(empty, None) is None  # empty text is never handed to fastText (it says en 0.12)


def test_english_page_passes_and_german_page_is_dropped_with_its_reason():
    assert reasons([page(ENGLISH, ENGLISH), page(GERMAN, GERMAN)]) == [None, REASON]
    stage = LanguagePrepass(LanguagePrepassConfig())
    rows = [
        dict.fromkeys(READ_SCHEMA.names) | {"doc_id": i, "html": page(p, p)} for i, p in enumerate([ENGLISH, GERMAN])
    ]
    out = stage(pa.Table.from_pylist(rows, schema=READ_SCHEMA))
    assert out.column("text").to_pylist() == [None, f"{GERMAN} {GERMAN}"]  # the dropped sample shows what was judged


def test_mixed_or_uncertain_language_passes():
    mixed = page(ENGLISH, GERMAN, ENGLISH, GERMAN)  # fastText: de 0.86, en 0.07: en over max_kept_score saves it
    english_article_german_menu = page(ENGLISH, ENGLISH, wrap=f"<nav>{GERMAN}</nav>{{}}")
    mostly_english = page(ENGLISH, GERMAN, ENGLISH)
    pages = [mixed, mostly_english, english_article_german_menu, page(LOREM, LOREM)]  # Lorem ipsum: la 0.39
    assert reasons(pages) == [None] * 4


def test_kept_languages_follow_the_config():
    german = page(GERMAN, GERMAN)
    assert reasons([german], languages=("en", "de")) == [None]
    assert reasons([german], languages=()) == [None]  # no language list: the pre-pass drops nothing
    assert reasons([page(ENGLISH, ENGLISH)], languages=("de",)) == [REASON]


def test_pages_it_cannot_judge_cheaply_pass_untouched():
    wet = None  # a WET record: plain text already, judged by the `language` stage
    deep = page(GERMAN, GERMAN, wrap="<div>" * 200 + "{}" + "</div>" * 200)  # resiliparse: quadratic in depth
    assert reasons([wet, deep, page(GERMAN, GERMAN)]) == [None, None, REASON]
    assert reasons([page(GERMAN, GERMAN)], max_tags=3) == [None]
    assert reasons([deep], max_depth=300) == [REASON]


def test_the_rule_needs_a_confident_other_language_and_a_low_kept_score():
    stage = LanguagePrepass(LanguagePrepassConfig(languages=("en", "fr")))
    labels = ["__label__de", "__label__en", "__label__fr"]
    assert stage.decide(labels, [0.90, 0.02, 0.02]) == REASON
    assert stage.decide(labels, [0.79, 0.02, 0.02]) is None  # top label not confident enough
    assert stage.decide(labels, [0.90, 0.03, 0.03]) is None  # kept languages together over 0.05
    assert stage.decide(["__label__fr", "__label__de"], [0.95, 0.01]) is None  # top label is kept


def test_drops_are_counted_under_their_own_reason():
    (step,) = build_steps([StageSpec("language_prepass", LanguagePrepassConfig(), line=1)])
    rows = [dict.fromkeys(READ_SCHEMA.names) | {"doc_id": i, "html": h} for i, h in enumerate([page(GERMAN)] * 2)]
    out, (stats,) = step(pa.Table.from_pylist(rows, schema=READ_SCHEMA))
    assert stats.name == "language_prepass" and stats.dropped == {REASON: 2} and stats.docs_out == 0
    again, _ = step(pa.Table.from_pylist(rows, schema=READ_SCHEMA))
    assert again.equals(out)  # deterministic


def test_after_extract_is_a_warning(tmp_path):
    head = "input: [x.warc]\nstages:\n  - stage: read\n"
    before = load(write_config(tmp_path, head + "  - stage: language_prepass\n  - stage: extract\n"))
    assert before.warnings == ()
    after = load(write_config(tmp_path, head + "  - stage: extract\n  - stage: language_prepass\n"))
    assert len(after.warnings) == 1 and "put it before extract" in after.warnings[0]


def test_english_articles_of_the_scrapinghub_benchmark_pass():
    """181 real news pages with a manual gold article text: every page whose gold text the `language` stage keeps
    as English passes the pre-pass, and pages in other languages are dropped."""
    root = shared_data("html_eval/scrapinghub_aeb")
    from filters.language import LanguageConfig, LanguageFilter

    gold = json.loads((root / "ground-truth.json").read_text())
    ids = sorted(gold)
    htmls = [gzip.open(root / "html" / f"{i}.html.gz").read() for i in ids]
    rows = [
        dict.fromkeys(READ_SCHEMA.names) | {"doc_id": k, "text": gold[i]["articleBody"]} for k, i in enumerate(ids)
    ]
    judged = LanguageFilter(LanguageConfig())(pa.Table.from_pylist(rows, schema=READ_SCHEMA))
    english = [r is None for r in judged.column("drop_reason").to_pylist()]
    dropped = [r == REASON for r in reasons(htmls)]
    assert not any(e and d for e, d in zip(english, dropped))
    assert sum(dropped) >= 0.8 * english.count(False) > 0


@pytest.mark.parametrize("config", [{"min_chars": 0}, {"max_depth": 1}, {"min_other_score": 1.5}])
def test_config_ranges_are_checked(tmp_path, config):
    key, value = next(iter(config.items()))
    text = f"input: [x.warc]\nstages:\n  - stage: read\n  - stage: language_prepass\n    {key}: {value}\n"
    with pytest.raises(Exception, match="out of range"):
        load(write_config(tmp_path, text))
