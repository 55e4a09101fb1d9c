"""MinHash signature throughput on one core: ours against datasketch (and rensa if installed), same documents,
same settings, same run; then a profile of ours.

    .venv/bin/python -m bench.perf.dedup_speed             # 5 rounds; table + bench/out/dedup_speed.json
    .venv/bin/python -m bench.perf.dedup_speed --rounds 3

Documents: real text, every CC-MAIN-2019-30 document of ../shared/data/quality as it is (697, any length,
many languages) plus the WikiText-2 chunks of bench/dedup_corpus.py (300-600 words), 1,805 in all.

What is timed, per document, text -> 112 values (FineWeb: word 5-grams, 14 bands x 8 rows), one process:
  ours        dedup.minhash.signature(text, params, perms): the reference implementation;
  ours-fast   dedup.minhasher.MinHasher.signatures(texts): what the stage runs; byte-identical to `ours`, checked
              here on every document and on edge cases, else the script fails;
  datasketch  datasketch 2.x MinHash(num_perm=112, seed=1) (its default scheme, sha1_hash32) and update_batch
              over the same word 5-grams, each encoded as UTF-8 bytes (datasketch hashes bytes), normalized by
              the same dedup.minhash.normalize; permutations made once and passed in (its fastest use);
  rensa       (if importable) rensa RMinHash(num_perm=112, seed=1).update(5-gram strings), same normalization.
Each round runs every implementation over all documents, in a rotated order; docs/s = documents / CPU seconds
of the process (wall seconds too). The box is shared and noisy: ratios are taken within a round, and the
median over rounds is reported.

Profile: cProfile of `ours` over the corpus (it inflates Python-level loops: the per-character generator of
normalize is a call per character) and, without a profiler, a split by stage: normalize; words -> n-gram
hashes (split, xxh3 per word, n-gram mixing); permutations + min in numpy.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.metadata as md
import io
import json
import platform
import pstats
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from bench import dedup_corpus
from bench.common import OUT, shared
from dedup.minhash import MinHashParams, normalize, permutations, shingle_hashes, signature
from dedup.minhasher import MinHasher as FastMinHash
from dedup.minhasher import fast_normalize

TARGET_RATIO = 3.0
EDGE_CASES = [
    "",
    "too short",
    "one two three four five",
    "Cafe\u0301 na\u0131\u0308ve re\u0301sume\u0301 \u0301 \u0301 lone marks \u0301 here too",
    "1,5,3 numbers 2.718 and \u0661\u0662 digits \uff11\uff12 full width 100% sure",
    "\u01c4 \ufb01 \u216b \u0130stanbul \u212a kelvin \u00df stra\u00dfe \u0149 words words",
    "tab\tsep\x1cunit\x1drec\x1egroup\x1fend \u00a0nbsp\u2003em\u3000ideographic \u2028 line sep",
    "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac \u03ba\u03b5\u03af\u03bc\u03b5\u03bd\u03bf "
    "\u03bc\u03b5 \u03c4\u03cc\u03bd\u03bf\u03c5\u03c2 \u037e \u03ba\u03b1\u03b9 \u03ac\u03bb\u03bb\u03b1",
    "\u4e2d\u6587\u6587\u672c\uff0c\u6807\u70b9\u3002 \u4e2d \u6587 \u6587 \u672c \u6807",
    "Don't stop -- it's \"quoted\" (and) [bracketed] {braced} <angled> a/b\\c e-mail snake_case",
    " ".join(["Repeated words again"] * 50),
]


def corpus() -> list[str]:
    shared("quality")
    return dedup_corpus.cc2019_all() + dedup_corpus.wikitext_chunks()


# ---------------------------------------------------------------- the implementations


def word_ngrams(text: str, n: int) -> list[str]:
    words = normalize(text).split()
    return [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]


def make_impls(params: MinHashParams) -> dict:
    perms = permutations(params)
    fast = FastMinHash(params)
    impls = {
        "ours": lambda texts: [signature(t, params, perms) for t in texts],
        "ours-fast": lambda texts: fast.signatures(texts),
    }
    try:
        from datasketch import MinHash
    except ImportError:
        sys.exit("datasketch is not installed: .venv/bin/pip install datasketch==2.0.0")
    template = MinHash(num_perm=params.num_perm, seed=params.seed)

    def datasketch_sigs(texts):
        out = []
        for text in texts:
            m = MinHash(num_perm=params.num_perm, permutations=template.permutations, scheme=template.scheme)
            m.update_batch([g.encode("utf-8") for g in word_ngrams(text, params.n_grams)])
            out.append(m.digest())
        return out

    impls["datasketch"] = datasketch_sigs
    try:
        import rensa
    except ImportError:
        return impls

    def rensa_sigs(texts):
        out = []
        for text in texts:
            m = rensa.RMinHash(num_perm=params.num_perm, seed=params.seed)
            m.update(word_ngrams(text, params.n_grams))
            out.append(m.digest())
        return out

    impls["rensa"] = rensa_sigs
    return impls


def versions() -> dict:
    found = {"python": platform.python_version()}
    for dist in ("numpy", "xxhash", "regex", "datasketch", "rensa"):
        try:
            found[dist] = md.version(dist)
        except md.PackageNotFoundError:
            pass
    return found


# ---------------------------------------------------------------- identity, timing, profile


def check_identity(texts: list[str], params: MinHashParams) -> dict:
    """ours-fast must equal ours byte for byte: normalize output, and every signature (None where None)."""
    perms, fast = permutations(params), FastMinHash(params)
    texts = texts + EDGE_CASES
    bad_norm = sum(fast_normalize(t) != normalize(t) for t in texts)
    ref = [signature(t, params, perms) for t in texts]
    rows, matrix = fast.signatures(texts)
    expected_rows = [i for i, s in enumerate(ref) if s is not None]
    expected = np.stack([ref[i] for i in expected_rows])
    per_doc = [fast.signature(t) for t in texts]
    same_single = all(
        (a is None and b is None) or (a is not None and b is not None and a.tobytes() == b.tobytes())
        for a, b in zip(ref, per_doc)
    )
    ok = bad_norm == 0 and rows.tolist() == expected_rows and matrix.tobytes() == expected.tobytes() and same_single
    result = {"documents": len(texts), "normalize_mismatches": bad_norm, "identical": ok}
    if not ok:
        sys.exit(f"FAIL: ours-fast differs from dedup.minhash.signature: {result}")
    return result


def time_round(impls: dict, texts: list[str], order: list[str]) -> dict:
    out = {}
    for name in order:
        wall, cpu = time.perf_counter(), time.process_time()
        impls[name](texts)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        n = len(texts)
        out[name] = {"cpu_s": cpu, "wall_s": wall, "docs_per_cpu_s": n / cpu, "docs_per_wall_s": n / wall}
    return out


def stage_split(texts: list[str], params: MinHashParams) -> dict:
    """CPU seconds of normalize, of shingle_hashes (normalize included) and of signature (all included)."""
    perms = permutations(params)
    cpu = {}
    for name, fn in (
        ("normalize", normalize),
        ("shingle_hashes", lambda t: shingle_hashes(t, params.n_grams)),
        ("signature", lambda t: signature(t, params, perms)),
    ):
        start = time.process_time()
        for t in texts:
            fn(t)
        cpu[name] = time.process_time() - start
    total = cpu["signature"]
    parts = {
        "normalize": cpu["normalize"],
        "words -> 5-gram hashes": cpu["shingle_hashes"] - cpu["normalize"],
        "permutations + min (numpy)": cpu["signature"] - cpu["shingle_hashes"],
    }
    return {name: {"cpu_s": s, "share": s / total} for name, s in parts.items()} | {"total_cpu_s": total}


def profile(fn, texts: list[str], top: int = 14) -> dict:
    prof = cProfile.Profile()
    prof.enable()
    fn(texts)
    prof.disable()
    stats = pstats.Stats(prof, stream=io.StringIO())
    total = stats.total_tt
    rows = []
    for (file, line, func), (_, calls, tottime, cumtime, _) in stats.stats.items():
        rows.append(
            {
                "function": f"{Path(file).name}:{line}({func})",
                "calls": calls,
                "tottime_s": tottime,
                "cumtime_s": cumtime,
                "tottime_share": tottime / total,
            }
        )
    rows.sort(key=lambda r: -r["tottime_s"])
    return {"total_s": total, "top": rows[:top]}


# ---------------------------------------------------------------- report


def summarize(rounds: list[dict], names: list[str]) -> dict:
    summary = {}
    for name in names:
        cpu_rates = [r[name]["docs_per_cpu_s"] for r in rounds]
        wall_rates = [r[name]["docs_per_wall_s"] for r in rounds]
        summary[name] = {
            "docs_per_cpu_s_median": statistics.median(cpu_rates),
            "docs_per_wall_s_median": statistics.median(wall_rates),
            "vs_datasketch_median": statistics.median(r["datasketch"]["cpu_s"] / r[name]["cpu_s"] for r in rounds),
            "vs_ours_median": statistics.median(r["ours"]["cpu_s"] / r[name]["cpu_s"] for r in rounds),
        }
    return summary


def print_report(result: dict) -> None:
    c = result["corpus"]
    print(
        f"\nMinHash signatures, {c['documents']} real documents ({c['mean_words']:.0f} words on average), "
        f"{result['params']}, one process, {result['rounds']} rounds (median)"
    )
    print(f"{'implementation':12s} {'docs/CPU-s':>11s} {'docs/wall-s':>12s} {'x datasketch':>13s} {'x ours':>7s}")
    for name, s in result["summary"].items():
        print(
            f"{name:12s} {s['docs_per_cpu_s_median']:11.0f} {s['docs_per_wall_s_median']:12.0f} "
            f"{s['vs_datasketch_median']:13.2f} {s['vs_ours_median']:7.2f}"
        )
    for name in ("ours", "ours-fast"):
        ratio = result["summary"][name]["vs_datasketch_median"]
        verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
        print(f"target >= {TARGET_RATIO:.0f}x datasketch, {name}: {ratio:.2f}x -> {verdict}")
    print(
        f"ours-fast byte-identical to ours: {result['identity']['identical']} "
        f"({result['identity']['documents']} documents incl. {len(EDGE_CASES)} edge cases)"
    )
    print("\nwhere `ours` spends its CPU (no profiler):")
    for name, part in result["stage_split"].items():
        if isinstance(part, dict):
            print(f"  {name:28s} {part['cpu_s']:7.3f} s  {100 * part['share']:5.1f} %")
    for label in ("ours", "ours-fast"):
        prof = result["profile"][label]
        print(f"\ncProfile of {label} (total {prof['total_s']:.2f} s with profiler overhead), top by own time:")
        for row in prof["top"][:10]:
            share, own = 100 * row["tottime_share"], row["tottime_s"]
            print(f"  {share:5.1f} %  {own:6.3f} s  {row['calls']:>8d}  {row['function']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    params = MinHashParams()
    texts = corpus()
    identity = check_identity(texts, params)
    impls = make_impls(params)
    names = list(impls)
    for name in names:  # warm-up: imports, tables, allocator
        impls[name](texts[:50])
    rounds = []
    for r in range(args.rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        rounds.append(time_round(impls, texts, order))
        rates = ", ".join(f"{n} {rounds[-1][n]['docs_per_cpu_s']:.0f}" for n in names)
        print(f"round {r + 1}: {rates} docs/CPU-s")
    result = {
        "params": str(params),
        "corpus": {
            "documents": len(texts),
            "mean_words": float(np.mean([len(t.split()) for t in texts])),
            "sources": "CC-MAIN-2019-30 (697, as is) + WikiText-2 chunks",
        },
        "versions": versions(),
        "rounds": args.rounds,
        "per_round": rounds,
        "summary": summarize(rounds, names),
        "identity": identity,
        "stage_split": stage_split(texts, params),
        "profile": {"ours": profile(impls["ours"], texts), "ours-fast": profile(impls["ours-fast"], texts)},
        "target_ratio": TARGET_RATIO,
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "dedup_speed.json").write_text(json.dumps(result, indent=1))
    print_report(result)
    print(f"\nwrote {OUT / 'dedup_speed.json'}")


if __name__ == "__main__":
    main()
