"""Precision/recall of the `toxicity` stage on Davidson et al. 2017 tweets, drop rates on clean text, speed.

    .venv/bin/python -m bench.quality.eval_toxicity              # tables on stdout (about a minute)
    .venv/bin/python -m bench.quality.eval_toxicity --no-cv      # skip the 5-fold retraining (the slow part)

Data: ../shared/data/toxic/davidson_labeled_data.csv, 24,783 tweets, class 0 hate (1,430), 1 offensive
(19,190), 2 neither (4,163); positive = hate + offensive (the PROVENANCE.md mapping). Read there, never copied.

Read the classifier rows with care: alt-profanity-check was TRAINED on this very dataset (plus Jigsaw; its
README, "How"), so its Davidson numbers are in-sample and flatter it. The "5-fold, same recipe" row retrains
the same pipeline (TF-IDF + calibrated LinearSVC, the shipped model's parameters) on 4/5 of Davidson and
scores the held-out fifth: an out-of-sample figure for this kind of model on tweets, not for the shipped one.
The word list was not fitted to Davidson. Tweets are short (about 15 words) and slang-heavy; web pages
are long and mostly formal, so the document rules (a share of characters, at least 3 listed words) are
built for pages and fire less on tweets; the clean-text table shows what they cost on pages.
Clean-text rows and throughput need `python -m bench.quality.eval_quality prepare` (extracted crawl pages, WikiText-2).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses

import numpy as np

from bench.common import shared
from bench.quality.eval_quality import QUALITY_OUT, make_batch, read_pages, throughput
from filters.toxicity import ToxicityConfig, ToxicityFilter


def load_davidson() -> tuple[list[str], np.ndarray, np.ndarray]:
    """(tweets, positive = hate or offensive, hate only)."""
    with open(shared("toxic", "davidson_labeled_data.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    classes = np.array([int(r["class"]) for r in rows])
    return [r["tweet"] for r in rows], classes != 2, classes == 0


def prf(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    tp, fp, fn = int((pred & truth).sum()), int((pred & ~truth).sum()), int((~pred & truth).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall, (2 * precision * recall / (precision + recall) if precision + recall else 0.0)


def stage_columns(cfg: ToxicityConfig, texts: list[str]) -> dict[str, np.ndarray]:
    """The stage's signals and decision for each text, each text one document, in one batch."""
    out = ToxicityFilter(cfg)(make_batch(texts))
    cols = {c: out.column(c).to_numpy(zero_copy_only=False) for c in ("toxicity_score", "toxic_frac", "bad_words")}
    cols["reason"] = np.array(out.column("drop_reason").to_pylist(), dtype=object)
    return cols


def davidson_rows(tweets: list[str], cv: bool) -> list[tuple[str, np.ndarray]]:
    default = ToxicityConfig()
    ours = stage_columns(default, tweets)
    c4_like = stage_columns(dataclasses.replace(default, use_ignore_list=False), tweets)
    rows = [
        ("classifier alone, whole tweet, p >= 0.5 (in-sample!)", ours["toxicity_score"] >= 0.5),
        (
            f"classifier alone, any sentence p >= {default.min_line_score} (in-sample!)",
            ours["toxicity_score"] >= default.min_line_score,
        ),
        ("word list alone, any hit, full list (C4-style)", c4_like["bad_words"] >= 1),
        ("word list alone, any hit, minus our ignore list", ours["bad_words"] >= 1),
        ("stage rule toxicity.classifier (default config)", ours["reason"] == "toxicity.classifier"),
        ("stage rule toxicity.word_list (default config)", ours["reason"] == "toxicity.word_list"),
        ("stage, either rule (default config)", ours["reason"] != None),  # noqa: E711 (numpy elementwise)
    ]
    if cv:
        rows.append(("5-fold, same recipe retrained on Davidson (out-of-sample)", cross_validated(tweets)))
    return rows


def cross_validated(tweets: list[str]) -> np.ndarray:
    """Out-of-fold predictions (p >= 0.5) of alt-profanity-check's recipe retrained on Davidson alone."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    _, truth, _ = load_davidson()
    pred = np.zeros(len(tweets), dtype=bool)
    docs = np.array(tweets, dtype=object)
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(docs, truth):
        svm = LinearSVC(class_weight="balanced", dual=False, tol=0.01, max_iter=100000)
        model = make_pipeline(TfidfVectorizer(stop_words="english", min_df=0.0001), CalibratedClassifierCV(svm))
        model.fit(docs[train], truth[train])
        pred[test] = model.predict_proba(docs[test])[:, 1] >= 0.5
    return pred


def print_davidson(cv: bool) -> None:
    tweets, truth, hate = load_davidson()
    print(f"Davidson et al. 2017: {len(tweets)} tweets, {truth.sum()} hate or offensive, {hate.sum()} hate\n")
    print("| predictor | precision | recall | F1 | recall on hate only | flags 'neither' |\n|---|---|---|---|---|---|")
    rows = [("flag every tweet (base rate)", np.ones(len(tweets), dtype=bool))] + davidson_rows(tweets, cv)
    for name, pred in rows:
        p, r, f1 = prf(pred, truth)
        hate_recall, false_pos = (pred & hate).sum() / hate.sum(), (pred & ~truth).sum() / (~truth).sum()
        print(f"| {name} | {p:.3f} | {r:.3f} | {f1:.3f} | {hate_recall:.3f} | {false_pos:.1%} |")


def print_clean_text() -> None:
    if not (QUALITY_OUT / "crawl_pages.jsonl.gz").exists():
        print("\n(clean-text rows skipped: run `.venv/bin/python -m bench.quality.eval_quality prepare` first)")
        return
    corpora = {
        "English crawl pages (WARC, ARC, CC-2019-30, html_eval)": [
            p["text"] for p in read_pages("crawl_pages") if p["english"]
        ],
        "WikiText-2 sections (Wikipedia Good/Featured)": [d["text"] for d in read_pages("wikitext2_sections")],
    }
    default = ToxicityConfig()
    print("\nDrop rates on text that is (nearly all) not toxic:\n")
    print(
        "| corpus | n | C4 rule, full list | C4 rule, minus ignore list | toxicity.classifier | toxicity.word_list |"
    )
    print("|---|---|---|---|---|---|")
    for name, texts in corpora.items():
        ours = stage_columns(default, texts)
        full = stage_columns(dataclasses.replace(default, use_ignore_list=False), texts)
        rates = [(full["bad_words"] >= 1).mean(), (ours["bad_words"] >= 1).mean()]
        rates += [(ours["reason"] == r).mean() for r in ("toxicity.classifier", "toxicity.word_list")]
        print(f"| {name} | {len(texts)} | " + " | ".join(f"{x:.1%}" for x in rates) + " |")


def print_throughput(n: int) -> None:
    if not (QUALITY_OUT / "crawl_pages.jsonl.gz").exists():
        return
    texts = [p["text"] for p in read_pages("crawl_pages") if p["english"]][:n]
    print("\ntoxicity stage, default config: " + throughput(ToxicityFilter(ToxicityConfig()), texts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-cv", action="store_true", help="skip the 5-fold retraining row")
    parser.add_argument("-n", type=int, default=1000, help="English crawl pages for the throughput line")
    args = parser.parse_args()
    print_davidson(cv=not args.no_cv)
    print_clean_text()
    print_throughput(args.n)


if __name__ == "__main__":
    main()
