"""Accuracy per language of our `language` stage (lid.176.ftz, top-1) on Lingua's Wortschatz test sentences.

    .venv/bin/python -m bench.quality.eval_language            # markdown table on stdout (about 30 s)

Data: ../shared/data/lang/lingua_sentences/<iso639-1>.txt, one sentence a line, 75 languages, 1,000
sentences each (ja 412, zh 729); read there, never copied. Sentences are short (one line, tens of characters
to a few hundred), far shorter than web pages, so these accuracies are a lower bound for whole pages; Lingua
was tuned on Wortschatz data, fastText was not.

The stage itself classifies (filters/language.py: the same preprocessing, newlines -> spaces, top-1 label),
with `languages: []` and `min_score: 0` so that it only labels. "acc. @0.65" counts a sentence only if the
label is right AND p >= 0.65, FineWeb's threshold (our default): the share the pipeline would keep.
Codes: Lingua's ISO 639-1 file names equal lid.176's labels except Norwegian Bokmal `nb`, which lid.176
calls `no`. lid.176 has no label at all for lg, mi, sn, st, tn, ts, xh, zu (the table marks them
"unsupported"; their accuracy is 0 by construction): macro means are given with and without them.
"""

from __future__ import annotations

import argparse
import collections

from bench.common import shared

TO_FASTTEXT = {"nb": "no"}  # Lingua code -> lid.176 label where they differ
FINEWEB_MIN_SCORE = 0.65


def evaluate(stage, sentences: list[str], expected: str) -> dict:
    import pyarrow as pa

    from core.batch import READ_SCHEMA

    columns = {n: pa.nulls(len(sentences), READ_SCHEMA.field(n).type) for n in READ_SCHEMA.names}
    columns["text"] = pa.array(sentences, type=pa.large_string())
    out = stage(pa.table(columns, schema=READ_SCHEMA))
    labels, scores = out.column("language").to_pylist(), out.column("language_score").to_pylist()
    right = [lab == expected for lab in labels]
    wrong = collections.Counter(lab for lab in labels if lab != expected)
    return {
        "n": len(labels),
        "accuracy": sum(right) / len(labels),
        "at_threshold": sum(r and s >= FINEWEB_MIN_SCORE for r, s in zip(right, scores)) / len(labels),
        "confused_with": ", ".join(f"{lab} {c}" for lab, c in wrong.most_common(2)),
    }


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    sentence_files = sorted(shared("lang", "lingua_sentences").glob("*.txt"))
    from filters.language import LanguageConfig, LanguageFilter

    stage = LanguageFilter(LanguageConfig(languages=(), min_score=0.0))
    known = {label.removeprefix("__label__") for label in stage.model.get_labels()}
    print("| language | lid.176 label | n | accuracy | acc. @0.65 | most often taken for |\n|---|---|---|---|---|---|")
    results = {}
    for path in sentence_files:
        code = path.stem
        label = TO_FASTTEXT.get(code, code)
        sentences = [line for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
        r = results[code] = evaluate(stage, sentences, label)
        shown = label if label in known else f"{label} (unsupported)"
        print(
            f"| {code} | {shown} | {r['n']} | {r['accuracy']:.3f} | {r['at_threshold']:.3f} | {r['confused_with']} |"
        )
    supported = [c for c in results if TO_FASTTEXT.get(c, c) in known]
    for name, codes in (("all", list(results)), ("supported by lid.176", supported)):
        acc = sum(results[c]["accuracy"] for c in codes) / len(codes)
        at = sum(results[c]["at_threshold"] for c in codes) / len(codes)
        print(f"| **macro mean, {name}** | | {len(codes)} languages | {acc:.3f} | {at:.3f} | |")


if __name__ == "__main__":
    main()
