"""`toxicity`: a linear toxicity classifier scored per sentence, plus a profanity word list, per document.

Classifier: alt-profanity-check 1.9.1 (MIT; TF-IDF + calibrated LinearSVC, trained on short comments:
Davidson et al. 2017 tweets + Jigsaw Wikipedia talk comments), so it scores *sentences* (lines split at
. ! ?), never whole pages: one l2-normalised TF-IDF vector over a 3,000-word page dilutes one toxic sentence
to nothing. All sentences of a batch go through one `predict_proba` call (duplicates scored once):
about 90,000 sentences/s here. Dolma does the same with its Jigsaw fastText taggers (per sentence).
Rule `toxicity.classifier`: drop when more than `max_toxic_frac` of the document's characters sit in
sentences with p(toxic) >= `min_line_score` (0.8 and 0.1: 0.2% of our English crawl pages and no WikiText-2
section dropped; 0.5 flagged crime news and a Du Fu biography; bench/quality/eval_toxicity.py).

Word list: better-profanity 0.7.0's 916 English entries (MIT), shipped unchanged in filters/assets/, matched
as whole lowercase words or phrases, minus `profanity_ignore_words.txt` (ours: identity, medical, history
and everyday words such as gay, breasts, nazi, god, fat, dummy). C4 drops a page with ANY listed word; with
this list that drops 25% of our English crawl pages and 18% of WikiText-2 sections (12% and 3% even with
the ignore list), erasing health, history and LGBTQ+ pages (Dodge et al. 2021), so we do not.
Rule `toxicity.word_list`: at least `min_bad_words` hits AND more than `max_bad_word_frac` of the words.
On Davidson et al.'s 24,783 tweets the stage flags 92% of the hate/offensive ones at 99% precision, but the
classifier was trained on them; retrained without them (5-fold), the same recipe scores F1 0.97
(bench/quality/eval_toxicity.py).

Signals (for every document reaching the stage): `toxicity_score` (float32, highest sentence p(toxic),
0.0 without text), `toxic_frac` (float32, share of characters in toxic sentences), `bad_words` (int32).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from core.batch import set_column, with_drop_reasons
from core.contracts import Contract, Signal
from core.registry import param, register

ASSETS = Path(__file__).parent / "assets"
DEFAULT_WORD_LIST = str(ASSETS / "better_profanity_wordlist.txt")
DEFAULT_IGNORE_LIST = str(ASSETS / "profanity_ignore_words.txt")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")  # "ass-fucker" and "don't" stay one word


@dataclass(frozen=True)
class ToxicityConfig:
    min_line_score: float = param(
        0.8, "a sentence with p(toxic) >= this is toxic (alt-profanity-check; 0.5 flagged crime news)", ge=0.0, le=1.0
    )
    max_toxic_frac: float = param(
        0.1, "drop above this share of characters in toxic sentences (0.2% of our crawl pages)", ge=0.0, le=1.0
    )
    min_bad_words: int = param(3, "word-list rule needs at least this many hits (C4: 1, too aggressive)", ge=1)
    max_bad_word_frac: float = param(
        0.01, "word-list rule: drop above this share of words on the list (0.1% of our crawl pages)", ge=0.0, le=1.0
    )
    word_list_path: str = param(
        "", "one word or phrase a line; empty: the shipped better-profanity 0.7.0 list", is_file=True
    )
    ignore_words_path: str = param(
        "",
        "words of the list not counted ('#' comments); empty: the shipped profanity_ignore_words.txt",
        is_file=True,
    )
    use_ignore_list: bool = param(True, "false counts every listed word (C4-like)")


def read_word_file(path: str, stage: str = "toxicity") -> set[str]:
    if not Path(path).is_file():
        raise FileNotFoundError(f"{stage}: word list not found: {path}")
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return {line.strip().lower() for line in lines if line.strip() and not line.lstrip().startswith("#")}


class WordList:
    """Whole-word, case-insensitive matching of single words and phrases (up to the longest entry)."""

    def __init__(self, entries: set[str]):
        phrases = [tuple(_WORD.findall(e)) for e in entries]
        # entries with other punctuation ("f.u.c.k", "sh!t": 11 of 916) can never be one of our words
        self.words = {e for e, p in zip(entries, phrases) if len(p) == 1 and p[0] == e}
        self.phrases = {p for e, p in zip(entries, phrases) if len(p) > 1 and " ".join(p) == e}
        self.phrase_starts = {p[0] for p in self.phrases}
        self.max_len = max((len(p) for p in self.phrases), default=1)

    def count(self, text: str) -> tuple[int, int]:
        """(hits, words) of a text."""
        words = _WORD.findall(text.lower())
        counts = Counter(words)
        hits = sum(counts[w] for w in counts.keys() & self.words)
        if counts.keys() & self.phrase_starts:
            hits += self._phrase_hits(words)
        return hits, len(words)

    def _phrase_hits(self, words: list[str]) -> int:
        hits = 0
        for i, word in enumerate(words):
            if word in self.phrase_starts:
                hits += sum(tuple(words[i : i + n]) in self.phrases for n in range(2, self.max_len + 1))
        return hits


def sentences(text: str) -> list[str]:
    return [s for line in text.split("\n") for s in _SENTENCE_END.split(line.strip()) if s]


TOXICITY_CONTRACT = Contract(
    needs=("text",),
    drop_reasons=("classifier", "word_list"),
    signals=(Signal("toxic_frac", "max_toxic_frac"), Signal("toxicity_score", "min_line_score")),
)


@register("toxicity", ToxicityConfig, contract=TOXICITY_CONTRACT)
class ToxicityFilter:
    """Score sentences with a linear toxicity classifier and count word-list hits; drop toxic documents."""

    def __init__(self, cfg: ToxicityConfig):
        from profanity_check import profanity_check  # loads the pickled TF-IDF + SVM once (about 1 s)

        self.cfg = cfg
        entries = read_word_file(cfg.word_list_path or DEFAULT_WORD_LIST)
        if cfg.use_ignore_list:
            entries -= read_word_file(cfg.ignore_words_path or DEFAULT_IGNORE_LIST)
        self.word_list = WordList(entries)
        self.vectorizer, self.model = profanity_check.vectorizer, profanity_check.model

    def __call__(self, batch: pa.Table) -> pa.Table:
        texts = [t or "" for t in batch.column("text").to_pylist()]
        per_doc = [sentences(t) for t in texts]
        scores = self._score_all(per_doc)
        max_scores = [max((scores[s] for s in doc), default=0.0) for doc in per_doc]
        toxic_fracs = [self._toxic_frac(doc, scores) for doc in per_doc]
        counts = [self.word_list.count(t) for t in texts]
        reasons = [self._decide(f, hits, n) for f, (hits, n) in zip(toxic_fracs, counts)]
        batch = set_column(batch, "toxicity_score", pa.array(max_scores, type=pa.float32()))
        batch = set_column(batch, "toxic_frac", pa.array(toxic_fracs, type=pa.float32()))
        batch = set_column(batch, "bad_words", pa.array([hits for hits, _ in counts], type=pa.int32()))
        return with_drop_reasons(batch, reasons)

    def _score_all(self, per_doc: list[list[str]]) -> dict[str, float]:
        """p(toxic) of every distinct sentence of the batch, from one classifier call."""
        unique = list(dict.fromkeys(s for doc in per_doc for s in doc))
        if not unique:
            return {}
        probs = self.model.predict_proba(self.vectorizer.transform(unique))[:, 1]
        return dict(zip(unique, probs.tolist()))

    def _toxic_frac(self, doc: list[str], scores: dict[str, float]) -> float:
        total = sum(len(s) for s in doc)
        toxic = sum(len(s) for s in doc if scores[s] >= self.cfg.min_line_score)
        return toxic / total if total else 0.0

    def _decide(self, toxic_frac: float, hits: int, words: int) -> str | None:
        if toxic_frac > self.cfg.max_toxic_frac:
            return "toxicity.classifier"
        if hits >= self.cfg.min_bad_words and hits > self.cfg.max_bad_word_frac * words:
            return "toxicity.word_list"
        return None
