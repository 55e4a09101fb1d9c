"""Decision parity of our four heuristic filters with datatrove 0.10.1's, document by document.

    .venv/bin/python -m bench.quality.parity_filters              # corpus: bench/filters_corpus.py (built if missing)
    .venv/bin/python -m bench.quality.parity_filters --tokens 40  # also the 40 commonest word-token differences
    .venv/bin/python -m bench.quality.parity_filters --reuse      # datatrove's side from the last run (~2 min)

Each filter runs on its own on every document (not chained): ours as `fn(Doc(text), DefaultConfig())`,
datatrove's (GopherRepetitionFilter, GopherQualityFilter, C4QualityFilter(filter_no_terminal_punct=False),
FineWebQualityFilter, defaults otherwise) as `.filter(Document(text=..., id=..., metadata={}))` in its own venv
(bench/out/venv-datatrove, with spaCy), in a subprocess that runs this same module with `--datatrove-side` (from the
repository root: there it imports only the standard library, bench.common and bench.filters_corpus).
Compared: keep/drop per document; for c4_quality also the rewritten text of documents both keep.

Every disagreement is listed with its cause, found by replaying our filter on datatrove's own units: our
code fed spaCy's word tokens (gopher_*, fineweb) or spaCy's per-line sentence counts (c4). If the replay
agrees, the cause is tokenization and the differing tokens are shown; if not, it is the filter's logic.
Results: bench/out/parity_filters.json.
"""

from __future__ import annotations

import argparse
import collections
import difflib
import gzip
import json
import subprocess
import time
from pathlib import Path

from bench.common import DATATROVE, OUT, REPO
from bench.filters_corpus import CORPUS, corpus, is_english, load_corpus

FILTERS = ("gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality")
# datatrove's reason names for ours, to report whether a shared drop also has the same reason.
DT_REASONS = {
    "few_words": "gopher_short_doc",
    "many_words": "gopher_long_doc",
    "short_words": "gopher_below_avg_threshold",
    "long_words": "gopher_above_avg_threshold",
    "hash_ratio": "gopher_too_many_hashes",
    "ellipsis_ratio": "gopher_too_many_ellipsis",
    "bullet_lines": "gopher_too_many_bullets",
    "ellipsis_lines": "gopher_too_many_end_ellipsis",
    "few_alpha_words": "gopher_below_alpha_threshold",
    "few_stop_words": "gopher_enough_stop_words",
    "few_sentences": "too_few_sentences",
    "line_punct": "line_punct_ratio",
    "short_lines": "short_line_ratio",
    "dup_line_chars": "char_dup_ratio",
    **{f"top_{n}gram": f"top_{n}_gram" for n in (2, 3, 4)},
    **{f"dup_{n}gram": f"duplicated_{n}_n_grams" for n in range(5, 11)},
}


# ---------------------------------------------------------------- datatrove side (runs in datatrove's venv)
def datatrove_side(corpus_path: str, out_path: str) -> None:
    import datatrove.pipeline.filters.c4_filters as c4_module
    from datatrove.data import Document
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )
    from datatrove.utils.text import split_into_words

    filters = {
        "gopher_repetition": GopherRepetitionFilter(),
        "gopher_quality": GopherQualityFilter(),
        "c4_quality": C4QualityFilter(filter_no_terminal_punct=False),
        "fineweb_quality": FineWebQualityFilter(),
    }
    counted: list[list] = []  # (line, sentences) for every line C4 counts: a spy, behaviour unchanged
    real_split = c4_module.split_into_sentences

    def spy(text, language):
        sentences = real_split(text, language)
        counted.append([text, len(sentences)])
        return sentences

    c4_module.split_into_sentences = spy
    tmp_path = Path(out_path).with_suffix(".tmp")
    with gzip.open(tmp_path, "wt", encoding="utf-8") as out:
        for record in load_corpus(Path(corpus_path)):
            row = {"id": record["id"], "words": split_into_words(record["text"])}
            for name, step in filters.items():
                counted.clear()
                doc = Document(text=record["text"], id=record["id"], metadata={})
                result = step.filter(doc)
                keep, reason = result if isinstance(result, tuple) else (result, None)
                row[name] = None if keep else (reason or "dropped")
                if name == "c4_quality":
                    row["c4_text"] = doc.text if keep else None
                    row["c4_counted"] = list(counted)
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp_path.rename(out_path)


# ---------------------------------------------------------------- our side
def our_functions():
    from filters.c4_quality import C4QualityConfig, c4_quality
    from filters.fineweb_quality import FineWebQualityConfig, fineweb_quality
    from filters.gopher_quality import GopherQualityConfig, gopher_quality
    from filters.gopher_repetition import GopherRepetitionConfig, gopher_repetition

    return {
        "gopher_repetition": (gopher_repetition, GopherRepetitionConfig()),
        "gopher_quality": (gopher_quality, GopherQualityConfig()),
        "c4_quality": (c4_quality, C4QualityConfig()),
        "fineweb_quality": (fineweb_quality, FineWebQualityConfig()),
    }


def run_ours(records: list[dict]) -> list[dict]:
    from core.text import Doc

    fns = our_functions()
    rows = []
    for record in records:
        row = {"words": Doc(record["text"]).words}
        for name, (fn, cfg) in fns.items():
            doc = Doc(record["text"])
            row[name] = fn(doc, cfg)
            if name == "c4_quality":
                row["c4_text"] = doc.text if row[name] is None else None
        rows.append(row)
    return rows


def replay(name: str, text: str, theirs: dict) -> str | None:
    """Our filter on datatrove's units: spaCy's words, or spaCy's sentence counts for c4."""
    import filters.c4_quality as c4_module
    from core.text import Doc

    fn, cfg = our_functions()[name]
    doc = Doc(text)
    doc.__dict__["words"] = theirs["words"]
    if name != "c4_quality":
        return fn(doc, cfg)
    counts = dict(map(tuple, theirs["c4_counted"]))
    ours = c4_module.count_sentences
    c4_module.count_sentences = lambda line: counts[line] if line in counts else ours(line)
    try:
        return fn(doc, cfg)
    finally:
        c4_module.count_sentences = ours


def token_diffs(ours: list[str], theirs: list[str]) -> list[tuple[str, str]]:
    """(our tokens, spaCy's tokens) for each differing stretch, joined with spaces."""
    matcher = difflib.SequenceMatcher(None, ours, theirs, autojunk=False)
    return [
        (" ".join(ours[i1:i2]), " ".join(theirs[j1:j2]))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def sentence_diffs(theirs: dict) -> list[tuple[str, int, int]]:
    from filters.c4_quality import count_sentences

    return [(line, count_sentences(line), n) for line, n in theirs["c4_counted"] if count_sentences(line) != n]


def compare(records: list[dict], ours: list[dict], theirs: list[dict]) -> dict:
    summary, disagreements = {}, []
    for name in FILTERS:
        stats = collections.Counter()
        for record, mine, dt in zip(records, ours, theirs):
            english = is_english(record)
            same = (mine[name] is None) == (dt[name] is None)
            same_text = name != "c4_quality" or mine[name] is not None or mine["c4_text"] == dt["c4_text"]
            same_reason = mine[name] is None or DT_REASONS.get(mine[name], mine[name]) == dt[name]
            stats["docs"] += 1
            stats["en_docs"] += english
            stats["agree"] += same
            stats["en_agree"] += same and english
            stats["same_reason"] += same and same_reason
            stats["ours_drop"] += mine[name] is not None
            stats["dt_drop"] += dt[name] is not None
            if name == "c4_quality" and same and mine[name] is None:
                stats["both_keep"] += 1
                stats["same_text"] += same_text
            if not same or not same_text:
                disagreements.append(explain(name, record, mine, dt, same))
        stats_out = dict(stats)
        stats_out["agreement"] = round(stats["agree"] / stats["docs"], 5)
        stats_out["en_agreement"] = round(stats["en_agree"] / max(stats["en_docs"], 1), 5)
        summary[name] = stats_out
    return {"summary": summary, "disagreements": disagreements}


def explain(name: str, record: dict, mine: dict, dt: dict, same_decision: bool) -> dict:
    entry = {
        "filter": name,
        "id": record["id"],
        "english": is_english(record),
        "ours": mine[name] if not same_decision or mine[name] else "keep",
        "datatrove": dt[name] if not same_decision or dt[name] else "keep",
    }
    if same_decision:
        entry["cause"] = "c4 rewritten text differs"
        entry["detail"] = list(difflib.unified_diff(dt["c4_text"].split("\n"), mine["c4_text"].split("\n"), n=0))[:8]
        return entry
    replayed = replay(name, record["text"], dt)
    tokenization = (replayed is None) == (dt[name] is None)
    if name == "c4_quality":
        entry["cause"] = "sentence count" if tokenization else "logic"
        entry["detail"] = [f"{n_ours} vs {n_dt}: {line[:160]!r}" for line, n_ours, n_dt in sentence_diffs(dt)[:8]]
    else:
        entry["cause"] = "word tokenization" if tokenization else "logic"
        entry["detail"] = [f"{a!r} vs {b!r}" for a, b in token_diffs(mine["words"], dt["words"])[:8]]
    return entry


def token_census(ours: list[dict], theirs: list[dict], top: int) -> tuple[float, list]:
    """Share of documents tokenized exactly like spaCy, and the commonest differing stretches."""
    census: collections.Counter = collections.Counter()
    same = 0
    for mine, dt in zip(ours, theirs):
        if mine["words"] == dt["words"]:
            same += 1
            continue
        census.update(token_diffs(mine["words"], dt["words"]))
    return same / max(len(ours), 1), census.most_common(top)


def run_datatrove(corpus_path: Path, reuse: bool) -> list[dict]:
    out_path = OUT / "parity_datatrove.jsonl.gz"
    if reuse and out_path.exists() and out_path.stat().st_mtime > corpus_path.stat().st_mtime:
        print(f"datatrove side: reusing {out_path}")
    else:
        started = time.perf_counter()
        cmd = [str(DATATROVE.python), "-m", __spec__.name, "--datatrove-side", str(corpus_path), str(out_path)]
        subprocess.run(cmd, check=True, cwd=REPO)
        print(f"datatrove side: {time.perf_counter() - started:.0f} s")
    with gzip.open(out_path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def print_report(result: dict, exact_share: float, census: list) -> None:
    print(f"\n{'filter':<18} {'all docs':>16} {'English':>16} {'same reason':>12} {'drops ours/dt':>14}")
    for name, s in result["summary"].items():
        print(
            f"{name:<18} {s['agreement']:>9.2%} ({s['docs'] - s['agree']:>3} off) "
            f"{s['en_agreement']:>9.2%} ({s['en_docs'] - s['en_agree']:>3} off) "
            f"{s['same_reason'] / s['docs']:>11.2%} {s['ours_drop']:>6}/{s['dt_drop']:<6}"
        )
    c4 = result["summary"]["c4_quality"]
    print(f"c4_quality rewritten text identical on {c4.get('same_text', 0)}/{c4.get('both_keep', 0)} docs both keep")
    print(f"word tokens identical to spaCy's on {exact_share:.2%} of documents")
    print(f"\n{len(result['disagreements'])} disagreements:")
    for d in result["disagreements"]:
        lang = "en" if d["english"] else "--"
        print(f"  {d['filter']:<17} {lang} {d['id'][:70]:<70} ours={d['ours']} dt={d['datatrove']} [{d['cause']}]")
        for line in d["detail"][:4]:
            print(f"      {line[:150]}")
    if census:
        print("\ncommonest token differences (ours vs spaCy): count")
        for (a, b), n in census:
            print(f"  {n:>6}  {a!r} vs {b!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=0, help="print the N commonest token differences")
    parser.add_argument("--reuse", action="store_true", help="reuse datatrove's decisions from the last run")
    parser.add_argument("--datatrove-side", nargs=2, metavar=("CORPUS", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.datatrove_side:
        datatrove_side(*args.datatrove_side)
        return
    records = corpus()
    theirs = run_datatrove(CORPUS, args.reuse)
    started = time.perf_counter()
    ours = run_ours(records)
    print(f"our side: {time.perf_counter() - started:.0f} s")
    result = compare(records, ours, theirs)
    exact_share, census = token_census(ours, theirs, max(args.tokens, 200))
    result["tokens_identical_share"] = round(exact_share, 5)
    result["token_differences"] = [[a, b, n] for (a, b), n in census]
    (OUT / "parity_filters.json").write_text(json.dumps(result, indent=1, ensure_ascii=False))
    print_report(result, exact_share, census[: args.tokens])


if __name__ == "__main__":
    main()
