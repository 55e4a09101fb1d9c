"""`language_prepass`: drop pages confidently outside `languages` before trafilatura runs on them.

Extraction is ~90% of the per-document CPU (BENCHMARKS.md "Read + extract + language ID"), and on a crawl about
half of it is spent on pages the `language` stage then drops. This stage looks at the HTML first: resiliparse's
main-content plain text (lexbor parse + `extract_plain_text(main_content=True)`), its first `max_chars`
characters, labelled by the same fastText lid.176 as `language`. A page is dropped
(`language_prepass.other_language`, counted on its own in the report) only when that text is long enough to
judge, its top label is another language with probability >= `min_other_score`, AND the kept languages together
score <= `max_kept_score`; its `text` is then the text judged, for the dropped samples. Everything else passes
untouched, and the `language` stage still judges the extracted
text: the pre-pass can only remove pages, never keep one the final stage would drop.

Measured by bench/quality/eval_prepass.py (BENCHMARKS.md "Language pre-pass"): on the 1,725 real HTML pages of
../shared/data it skips 984 pages before extraction (57%; 978 of the 1,076 the `language` stage drops), and the
kept documents are the same 366, with the same text, with and without it. It costs 4.4 ms of CPU a page against
the extract stage's 37.8 ms with trafilatura (1/8.6).

Pass untouched, by rule: HTML that is null (WET records; or after `extract`, which nulls it: hence the warning
when this stage comes after it); pre-pass text under `min_chars` (fastText scores the empty string, or any text
without a known n-gram, as English 0.12: tiny text must never count as "not English"); pages with more than
`max_tags` start tags or nested `max_depth` deep (resiliparse's main-content pass is quadratic in nesting depth:
10,000 nested divs take 2 CPU-s, 100,000 did not finish in 10 minutes; trafilatura's libxml2 stops at depth 256,
and `extract` judges these pages by its own guards); HTML that lexbor refuses. No clock decides anything: the
same page gets the same decision on any machine.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from core.batch import error_reason, set_column, with_drop_reasons
from core.contracts import Contract
from core.html import ParseGuards, decode_html, nested_selector
from core.record_guard import RecordGuard
from core.registry import param, register
from filters.language import load_lid_model

REASON = "language_prepass.other_language"


@dataclass(frozen=True)
class LanguagePrepassConfig:
    languages: tuple[str, ...] = param(
        ("en",),
        "ISO 639 codes to keep: the `language` stage's list (a config error otherwise); empty drops nothing",
    )
    min_other_score: float = param(
        0.8,
        "drop only if the top label is another language with at least this probability; 0.5-0.9 lose no kept "
        "document on 1,725 real pages (bench/quality/eval_prepass.py); 0.8 skips 7 of them fewer than 0.5",
        ge=0.0,
        le=1.0,
    )
    max_kept_score: float = param(
        0.05,
        "... and the kept languages together score at most this; every kept real document's pre-pass text scores "
        "en >= 0.55 (11x above), and no kept document's has another top label",
        ge=0.0,
        le=1.0,
    )
    min_chars: int = param(
        100,
        "shorter pre-pass text passes untouched: fastText scores empty text en 0.12; English sentences cut to 30 "
        "characters are taken for another language 1 in 976 times at these scores, at 50: 0 of 865 (Wortschatz)",
        ge=1,
    )
    max_chars: int = param(
        2000,
        "characters of main-content text given to fastText (whitespace collapsed); 1,000-4,000 skip within 1% of "
        "each other on real pages, and fastText's cost grows with the text",
        ge=1,
    )
    max_tags: int = param(
        20_000, "pages with more HTML start tags pass untouched (`extract` drops them at its own max_tags)", ge=1
    )
    max_depth: int = param(
        128,
        "pages with elements nested this deep pass untouched: resiliparse's main-content pass is quadratic in "
        "depth (10,000 levels: 2 CPU-s); the deepest of 1,725 real pages is 54",
        ge=2,
    )
    model_path: str = param(
        "", "fastText LID model file; empty: the shipped lid.176.ftz (as `language`)", is_file=True
    )


_AFTER_EXTRACT = (
    "extract",
    "extract has replaced the HTML by its text (html is null after it), so the pre-pass sees no page and drops "
    "nothing: put it before extract",
)


PREPASS_CONTRACT = Contract(
    needs=("html",),
    warn_after=(_AFTER_EXTRACT,),
    drop_reasons=("other_language",),
    agrees_with=(("languages", "language"),),  # else it would drop pages the final stage keeps
)


@register("language_prepass", LanguagePrepassConfig, contract=PREPASS_CONTRACT)
class LanguagePrepass:
    """Drop pages whose main-content text is confidently in another language, before extraction."""

    def __init__(self, cfg: LanguagePrepassConfig):
        self.cfg = cfg
        self.model = load_lid_model(cfg.model_path, "language_prepass")
        self._too_deep = nested_selector(cfg.max_depth)

    def __call__(self, batch: pa.Table, guard: RecordGuard | None = None) -> pa.Table:
        guard = guard or RecordGuard()
        reasons: list[str | None] = [None] * batch.num_rows
        if not self.cfg.languages:
            return with_drop_reasons(batch, reasons)
        htmls, charsets = batch.column("html").to_pylist(), batch.column("charset").to_pylist()
        doc_ids, urls = batch.column("doc_id").to_pylist(), batch.column("url").to_pylist()
        texts: list[str | None] = []
        for i, (body, charset) in enumerate(zip(htmls, charsets)):
            text, problem = guard.run(doc_ids[i], "language_prepass", self.prepass_text, body, charset, url=urls[i])
            texts.append(text)
            reasons[i] = None if problem is None else error_reason("language_prepass", problem)
        judged = [i for i, text in enumerate(texts) if text is not None]
        if judged:
            labels, scores = self.model.predict([texts[i] for i in judged], k=-1, threshold=0.0)
            for i, row_labels, row_scores in zip(judged, labels, scores):
                reasons[i] = self.decide(row_labels, row_scores)
        if any(reasons):  # a dropped page's sample shows the text it was judged on (never reaches a later stage)
            column = batch.column("text").to_pylist()
            column = [texts[i] if reason and texts[i] else old for i, (reason, old) in enumerate(zip(reasons, column))]
            batch = set_column(batch, "text", pa.array(column, type=pa.large_string()))
        return with_drop_reasons(batch, reasons)

    def prepass_text(self, body: bytes | None, charset: str | None) -> str | None:
        """The text fastText judges, or None when the page passes untouched."""
        if body is None:
            return None
        from resiliparse.extract.html2text import extract_plain_text
        from resiliparse.parse.html import HTMLParserException, HTMLTree

        html = decode_html(body, charset)  # the characters `extract` will see
        if ParseGuards(max_tags=self.cfg.max_tags).problem(html) is not None:
            return None  # `extract` drops it by the same guards
        try:
            tree = HTMLTree.parse(html)
            if tree.document is None or tree.document.query_selector(self._too_deep) is not None:
                return None
            text = extract_plain_text(tree, main_content=True, alt_texts=False, list_bullets=False)
        except HTMLParserException:
            return None  # `extract` decides what such a page is
        text = " ".join(text[: 4 * self.cfg.max_chars].split())[: self.cfg.max_chars]
        return text if len(text) >= self.cfg.min_chars else None

    def decide(self, labels, scores) -> str | None:
        """`labels`/`scores`: every label of one text, best first, as fastText gives them."""
        kept = self.cfg.languages
        top = labels[0].removeprefix("__label__")
        kept_score = sum(float(s) for lab, s in zip(labels, scores) if lab.removeprefix("__label__") in kept)
        if top not in kept and float(scores[0]) >= self.cfg.min_other_score and kept_score <= self.cfg.max_kept_score:
            return REASON
        return None
