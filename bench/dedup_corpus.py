"""Real base documents for the deduplication benchmarks (shared by quality.dedup_quality and perf.dedup_speed).

Two sources from ../shared/data/quality (see its PROVENANCE.md), both real text written by people:
  wikitext   WikiText-2 valid + test (Wikipedia Good/Featured articles, tokenized: " @-@ " joins are undone
             here), cut into consecutive paragraph chunks of MIN_WORDS..MAX_WORDS words, never across articles;
  cc2019     the 697 CommonCrawl CC-MAIN-2019-30 text documents (dolma test data), those with at least
             MIN_WORDS words, cut to their first MAX_WORDS words (line breaks kept).
Deterministic: same files, same documents in the same order.
"""

from __future__ import annotations

import gzip
import json
import re

from bench.common import SHARED, shared

QUALITY = SHARED / "quality"
MIN_WORDS, MAX_WORDS = 300, 600
_HEADING = re.compile(r"^\s*=.*=\s*$")
_WIKITEXT_JOINS = ((" @-@ ", "-"), (" @,@ ", ","), (" @.@ ", "."))


def _detokenize(line: str) -> str:
    for old, new in _WIKITEXT_JOINS:
        line = line.replace(old, new)
    return line.strip()


def wikitext_chunks(min_words: int = MIN_WORDS, max_words: int = MAX_WORDS) -> list[str]:
    """Consecutive paragraphs of one article, min_words..max_words words (a long paragraph is cut)."""
    chunks: list[str] = []
    for name in ("valid.txt", "test.txt"):
        paragraphs: list[str] = []
        count = 0
        for raw in (QUALITY / "wikitext2" / name).read_text(encoding="utf-8").splitlines():
            if raw.startswith(" = ") and not raw.startswith(" = = "):  # a new article: never chunk across
                paragraphs, count = [], 0
            if not raw.strip() or _HEADING.match(raw):
                continue
            line = _detokenize(raw)
            paragraphs.append(line)
            count += len(line.split())
            if count >= min_words:
                words = "\n\n".join(paragraphs).split(" ")
                chunks.append(" ".join(words[:max_words]) if count > max_words else "\n\n".join(paragraphs))
                paragraphs, count = [], 0
    return chunks


def cc2019_docs(min_words: int = MIN_WORDS, max_words: int = MAX_WORDS) -> list[str]:
    """CC-MAIN-2019-30 texts of at least min_words words, cut to their first max_words words."""
    path = QUALITY / "cc_text_dolma_CC-MAIN-2019-30_697docs.jsonl.gz"
    docs = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            text = json.loads(line)["text"]
            if len(text.split()) < min_words:
                continue
            docs.append(_first_words(text, max_words))
    return docs


def _first_words(text: str, max_words: int) -> str:
    """The text's first max_words words, its line breaks kept (the last line kept may be cut)."""
    kept, count = [], 0
    for line in text.split("\n"):
        words = line.split()
        if count + len(words) > max_words:
            kept.append(" ".join(words[: max_words - count]))
            break
        kept.append(line)
        count += len(words)
    return "\n".join(kept)


def cc2019_all() -> list[str]:
    """Every CC-MAIN-2019-30 text as it is (any length): for throughput on real page lengths."""
    path = QUALITY / "cc_text_dolma_CC-MAIN-2019-30_697docs.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


def base_documents() -> list[tuple[str, str]]:
    """(source, text) for every base document: wikitext chunks first, then the CC-2019-30 documents."""
    shared("quality")
    return [("wikitext", t) for t in wikitext_chunks()] + [("cc2019", t) for t in cc2019_docs()]
