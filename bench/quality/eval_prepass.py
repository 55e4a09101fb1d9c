"""Does `language_prepass` change the output, and what does it save? (issue 14, item 1)

    .venv/bin/python -m bench.quality.eval_prepass --jobs 2               # ~45 min at load 15
    .venv/bin/python -m bench.quality.eval_prepass --limit 200 --repeats 1  # a quick look (every k-th page)
    .venv/bin/python -m bench.quality.eval_prepass --code worktree --extract-method cascade --tag cascade

Results: bench/out/eval_prepass.json; BENCHMARKS.md's two tables are rendered from it by prepass_table and
skipped_table (`python -m bench.tables`).

Code (`--code`): a snapshot of the committed HEAD by default (git archive into bench/out/eval_prepass_code/<sha>/,
bench/ left out, its stages.yaml), so that others' edits during a run do not reach it; `worktree`: a copy of the
working tree's files as they are at the start. The evaluation runs in a child process whose project packages are
the snapshot's (common.in_code: first on its path, inherited by the worker processes). `--extract-method` sets
the extract stage's `method` (the cascade change of issue 14; HEAD's extract is trafilatura only).

Runs the per-document chain of stages.yaml, every stage after `read` as stages.yaml configures it (at the time
of writing: extract, language, gopher_repetition, gopher_quality, c4_quality, fineweb_quality, toxicity,
perplexity, quality_classifier; `url_filter` is left out: it decides from the URL alone, before both, and
html_eval pages have none), twice over each page set: as is, and with `language_prepass` (default config)
before `extract`. Stages are built and called as the per-file pass calls them (pipeline.steps.build_steps,
batches of 64 rows). Compared: the kept documents (page and text) of the two runs; the pages the pre-pass drops
and what the chain without it did with them; CPU time (time.process_time around each step, in the worker
process) of the pre-pass and of `extract`. Every page set runs --repeats times (default 3), which side goes
first alternating, in --jobs processes; pages decided otherwise in another repeat are listed
(`unstable_between_repeats`: only a clock can do that, i.e. extract's CPU-time limit), the CPU figures are
medians over repeats.

Page sets:
  real     every real HTML page in ../shared/data: html_eval's pages (ScrapingHub AEB, trafilatura eval set,
           Readability's source.html (not its expected.html), CmonCrawl Czech test + filter pages) and every
           HTML response that `readers.warc.WarcReader` keeps in warc/ (CommonCrawl WARCs, the legacy ARCs,
           other crawls; WET/WAT hold no HTML).
  cc_mix   a CommonCrawl-like language mix, 45% English: the real pages the chain labels `en`, plus for each other
           language its share of a crawl (CC_SHARES) filled first with real pages of that label, then with pages
           we build from ../shared/data/lang (Wortschatz sentences of that language) in four templates cycled:
           article; article with English navigation, cookie banner and footer; 1-2 sentences with that English
           boilerplate; a list of linked sentences. The rest (~5%) from the remaining languages in turn.
  mixed    250 built pages of mixed language: English article + non-English sidebar of the same size,
           non-English article + English comments, alternating paragraphs, English article under a long
           non-English menu, a short English article in non-English boilerplate (50 each).
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import hashlib
import html as html_lib
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench.common import OUT, REPO, SHARED, git, head_snapshot, in_code, markdown_table, shared

BATCH = 64
ENGLISH_SHARE = 0.45
# Approximate shares of pages per language in recent CommonCrawl crawls (rounded, as commoncrawl.github.io/
# cc-crawl-statistics/plots/languages shows them; not one crawl's exact figures), as lid.176 labels.
CC_SHARES = {
    "ru": 6.0, "de": 5.5, "ja": 5.0, "zh": 5.0, "es": 4.5, "fr": 4.5, "it": 2.5, "pt": 2.2, "nl": 1.8, "pl": 1.8,
    "vi": 1.1, "cs": 1.0, "tr": 1.0, "id": 1.0, "fa": 0.7, "sv": 0.6, "ko": 0.6, "ar": 0.6, "hu": 0.5, "ro": 0.5,
    "el": 0.5, "uk": 0.5, "da": 0.4, "fi": 0.4, "sk": 0.3, "no": 0.3, "bg": 0.3, "th": 0.3, "he": 0.2, "hi": 0.2,
}  # fmt: skip
OTHER_SHARE = 100 - 100 * ENGLISH_SHARE - sum(CC_SHARES.values())
LINGUA = {"no": "nb"}  # lid.176 label -> Wortschatz file name, where they differ
EN_NAV = "Home | About us | Blog | Shop | Contact | Login | Register | Search"
EN_COOKIE = "We use cookies to give you the best experience on our website. By continuing you agree. Accept all"
EN_FOOTER = "© 2024 All rights reserved. Privacy Policy · Terms of Service · Imprint · Sitemap · Follow us"


# ---------------------------------------------------------------- pages


def real_pages() -> list[dict]:
    pages = []
    for path in sorted((SHARED / "html_eval").rglob("*.html.gz")):
        if path.name != "expected.html.gz":  # Readability's expected output, not a page
            pages.append(_page(f"html_eval/{path.relative_to(SHARED / 'html_eval')}", gzip.open(path).read()))
    from readers.warc import ReadConfig, UnsupportedInput, WarcReader

    for path in sorted((SHARED / "warc").rglob("*")):
        if not path.is_file() or not re.search(r"\.(warc|arc)(\.gz)?$", path.name):
            continue
        try:
            rows = list(WarcReader(ReadConfig())(str(path), 0))
        except UnsupportedInput:
            continue
        for row in rows:
            if row["html"] is not None and row["drop_reason"] is None:
                offset = row["source"].rsplit("@", 1)[1]
                pages.append(_page(f"{path.relative_to(SHARED)}@{offset}", row["html"], row["charset"]))
    return pages


def _page(page_id: str, body: bytes, charset: str | None = None) -> dict:
    return {"id": page_id, "body": body, "charset": charset}


def sentences(lang: str) -> list[str]:
    path = SHARED / "lang" / "lingua_sentences" / f"{LINGUA.get(lang, lang)}.txt"
    return [s.strip() for s in path.read_text(encoding="utf-8").split("\n") if s.strip()]


def _paras(rng: random.Random, pool: list[str], n: int, per: tuple[int, int] = (2, 5)) -> str:
    return "".join(f"<p>{html_lib.escape(' '.join(rng.sample(pool, rng.randint(*per))))}</p>" for _ in range(n))


def _html(lang: str, main: str, nav: str = "", aside: str = "", footer: str = "", title: str = "Page") -> bytes:
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{html_lib.escape(title)}</title>'
        f"</head><body><header><nav>{nav}</nav></header><main><article>{main}</article></main>"
        f"<aside>{aside}</aside><footer>{footer}</footer></body></html>"
    ).encode()


def built_page(lang: str, i: int, pool: list[str]) -> dict:
    """Page i of `lang` from its sentences, in one of four templates (cycled)."""
    rng = random.Random(f"{lang}:{i}")
    title = rng.choice(pool)[:60]
    en = {"nav": EN_NAV, "footer": f"<p>{EN_COOKIE}</p><p>{EN_FOOTER}</p>"}
    article = f"<h1>{html_lib.escape(title)}</h1>" + _paras(rng, pool, rng.randint(3, 8))
    if i % 4 == 0:
        parts = {"main": article}
    elif i % 4 == 1:
        parts = {"main": article, **en}
    elif i % 4 == 2:
        parts = {"main": _paras(rng, pool, 1, (1, 2)), **en}
    else:
        links = rng.sample(pool, rng.randint(10, 30))
        parts = {
            "main": "<ul>"
            + "".join(f'<li><a href="/{k}">{html_lib.escape(t)}</a></li>' for k, t in enumerate(links))
            + "</ul>"
        }
    return _page(f"built/{lang}/{i}", _html(lang, title=title, **parts))


def mixed_pages(n_each: int = 50) -> list[dict]:
    en, others = sentences("en"), [lang for lang in CC_SHARES if lang not in ("no",)]
    pages = []
    for i in range(5 * n_each):
        kind, xx = i % 5, others[i % len(others)]
        rng, pool = random.Random(f"mixed:{i}"), sentences(xx)
        body = {
            0: lambda: _html("en", _paras(rng, en, 4), aside=_paras(rng, pool, 4)),
            1: lambda: _html(xx, _paras(rng, pool, 4), aside="<section class=comments>" + _paras(rng, en, 4)),
            2: lambda: _html("en", "".join(_paras(rng, p, 1) for p in (en, pool, en, pool, en, pool))),
            3: lambda: _html("en", _paras(rng, en, 3), nav=_paras(rng, pool, 6, (1, 2))),
            4: lambda: _html(xx, _paras(rng, en, 1, (2, 3)), nav=_paras(rng, pool, 2), footer=_paras(rng, pool, 2)),
        }[kind]()
        pages.append(_page(f"mixed/{kind}/{xx}/{i}", body))
    return pages


def cc_mix(real: list[dict], labels: dict[str, str | None]) -> tuple[list[dict], dict]:
    """Real English pages + other languages at their crawl shares (real pages of that label first)."""
    english = [p for p in real if labels.get(p["id"]) == "en"]
    total = round(len(english) / ENGLISH_SHARE)
    by_label: dict[str, list[dict]] = {}
    for p in real:
        label = labels.get(p["id"])
        by_label.setdefault(label if label in CC_SHARES or label == "en" else "other", []).append(p)
    pages, made = list(english), {}
    for lang, share in [*CC_SHARES.items(), ("other", OTHER_SHARE)]:
        want = round(total * share / 100)
        real_part = by_label.get(lang, [])[:want]
        pages += real_part
        made[lang] = {"real": len(real_part), "built": want - len(real_part)}
        pages += _built_other(want - len(real_part)) if lang == "other" else _built(lang, want - len(real_part))
    return pages, made


def _built(lang: str, n: int) -> list[dict]:
    pool = sentences(lang) if n else []
    return [built_page(lang, i, pool) for i in range(n)]


def _built_other(n: int) -> list[dict]:
    files = sorted(p.stem for p in (SHARED / "lang" / "lingua_sentences").glob("*.txt"))
    rest = [f for f in files if f != "en" and f not in CC_SHARES and f not in LINGUA.values()]
    return [built_page(rest[i % len(rest)], i, sentences(rest[i % len(rest)])) for i in range(n)]


# ---------------------------------------------------------------- the chains


def code_snapshot(which: str) -> Path:
    """The code and stages.yaml measured, copied once so that others' edits during the run do not reach it: `head`
    the committed HEAD (common.head_snapshot), `worktree` the working tree's tracked and untracked files as they
    are now; bench/ left out of both (the harness is this checkout's)."""
    if which == "head":
        return head_snapshot(OUT / "eval_prepass_code")
    root = OUT / "eval_prepass_code" / "worktree"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for name in git("ls-files", "-co", "--exclude-standard").decode().splitlines():
        if (REPO / name).is_file() and not name.startswith("bench/"):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, root / name)
    return root


def chain_specs(code: Path, extract_method: str | None) -> dict[str, list]:
    """stages.yaml's per-document stages after read (url_filter left out), without and with the pre-pass (the
    recipe's own where it has one, else its defaults)."""
    from core.registry import REGISTRY
    from filters.language_prepass import LanguagePrepassConfig
    from pipeline.config import StageSpec, load

    stages = [s for s in load(code / "stages.yaml").stages if REGISTRY.get(s.name).kind in ("map", "filter")]
    configured = [s for s in stages if s.name == "language_prepass"]  # the recipe's own, if it has one
    base = [s for s in stages if s.name not in ("url_filter", "language_prepass")]
    at = [s.name for s in base].index("extract")
    if extract_method:  # a field the extract stage has only from the cascade change on (issue 14)
        base[at] = dataclasses.replace(base[at], config=dataclasses.replace(base[at].config, method=extract_method))
    prepass = configured[0] if configured else StageSpec("language_prepass", LanguagePrepassConfig(), line=0)
    return {"without": base, "with": base[:at] + [prepass] + base[at:]}


def run_chain(specs, pages: list[dict], first_index: int) -> tuple[dict, dict]:
    """Outcome per page id (drop reason or None, the language label, a hash of the kept text), CPU per stage."""
    import pyarrow as pa

    from core.batch import READ_SCHEMA
    from pipeline.steps import build_steps

    steps, cpu, outcome = build_steps(specs), {}, {}
    for start in range(0, len(pages), BATCH):
        chunk = pages[start : start + BATCH]
        rows = [dict.fromkeys(READ_SCHEMA.names) for _ in chunk]
        for k, (row, page) in enumerate(zip(rows, chunk)):
            row.update(doc_id=first_index + start + k, id=page["id"], source=page["id"], html=page["body"])
            row.update(charset=page["charset"], content_length=len(page["body"]))
        live = pa.Table.from_pylist(rows, schema=READ_SCHEMA)
        for step in steps:
            started = time.process_time()
            after, stats = step(live)
            for s in stats:  # a filter chain's members share its CPU time; charge it to the first
                cpu[s.name] = cpu.get(s.name, 0.0) + (time.process_time() - started if s is stats[0] else 0.0)
            _record(after, outcome)
            live = after.filter(after.column("drop_reason").is_null())
        _record(live, outcome)
    return outcome, cpu


def _record(table, outcome: dict) -> None:
    columns = {name: table.column(name).to_pylist() for name in ("id", "drop_reason", "text")}
    labels = table.column("language").to_pylist() if "language" in table.column_names else [None] * table.num_rows
    for page_id, reason, text, label in zip(columns["id"], columns["drop_reason"], columns["text"], labels):
        digest = hashlib.sha1(text.encode()).hexdigest()[:16] if text and reason is None else None
        label = label or outcome.get(page_id, {}).get("language")
        outcome[page_id] = {"reason": reason, "language": label, "text": digest}


def _work(task: tuple) -> dict:
    pages, first_index, sides, specs = task
    return {side: run_chain(specs[side], pages, first_index) for side in sides}


def measure(pages: list[dict], specs: dict, jobs: int, repeats: int) -> dict:
    """Both chains over `pages` `repeats` times; decisions checked equal across repeats; CPU per repeat."""
    chunks = max(1, jobs * 4)
    tasks = [pages[k::chunks] for k in range(chunks)]
    outcomes, cpu_runs, loads, unstable = None, [], [], set()
    for r in range(repeats):
        sides = ("without", "with") if r % 2 == 0 else ("with", "without")
        loads.append(os.getloadavg()[0])
        with ProcessPoolExecutor(jobs) as pool:
            results = list(pool.map(_work, [(t, k * 1_000_000, sides, specs) for k, t in enumerate(tasks)]))
        merged = {side: {} for side in sides}
        cpu = {side: {} for side in sides}
        for result in results:
            for side, (outcome, stage_cpu) in result.items():
                merged[side].update(outcome)
                for name, seconds in stage_cpu.items():
                    cpu[side][name] = cpu[side].get(name, 0.0) + seconds
        if outcomes is not None:  # a page decided otherwise in another repeat (e.g. near extract's CPU limit)
            unstable |= {
                (side, i, outcomes[side][i]["reason"], merged[side][i]["reason"])
                for side in sides
                for i in merged[side]
                if merged[side][i] != outcomes[side][i]
            }
        outcomes = outcomes or merged
        cpu_runs.append(cpu)
    loads.append(os.getloadavg()[0])
    return {"outcomes": outcomes, "cpu_runs": cpu_runs, "load_1min": loads, "unstable": sorted(unstable, key=str)}


# ---------------------------------------------------------------- summary

PREPASS_REASON = "language_prepass.other_language"


def summarize(name: str, pages: list[dict], run: dict) -> dict:
    without, with_ = run["outcomes"]["without"], run["outcomes"]["with"]
    kept_without = {i: o["text"] for i, o in without.items() if o["reason"] is None}
    kept_with = {i: o["text"] for i, o in with_.items() if o["reason"] is None}
    lost = sorted(set(kept_without) - set(kept_with))
    gained = sorted(set(kept_with) - set(kept_without))
    changed = sorted(i for i in set(kept_with) & set(kept_without) if kept_with[i] != kept_without[i])
    skipped = [i for i, o in with_.items() if o["reason"] == PREPASS_REASON]
    language_drops = {i for i, o in without.items() if (o["reason"] or "").startswith("language.")}
    fate = {}
    for i in skipped:
        reason = without[i]["reason"]
        key = "kept" if reason is None else reason if reason.split(".")[0] in ("language", "extract") else "filters"
        fate[key] = fate.get(key, 0) + 1
    passed_language = sorted(
        i for i in skipped if i not in language_drops and not (without[i]["reason"] or "").startswith("extract.")
    )
    n = len(pages)
    cpu = _cpu(run["cpu_runs"], n)
    english = sum(1 for o in without.values() if o["language"] == "en")
    return {
        "set": name,
        "pages": n,
        "english_pages": english,
        "kept_without": len(kept_without),
        "kept_with": len(kept_with),
        "lost": lost,
        "gained": gained,
        "changed": changed,
        "differ_per_1000_kept": round(1000 * (len(lost) + len(gained) + len(changed)) / max(1, len(kept_without)), 3),
        "skipped": len(skipped),
        "skipped_share": round(len(skipped) / max(1, n), 4),
        "language_drops_without": len(language_drops),
        "language_drops_skipped": len(language_drops & set(skipped)),
        "skipped_fate_without_prepass": dict(sorted(fate.items())),
        "skipped_passing_language": passed_language,
        "unstable_between_repeats": run["unstable"],
        "load_1min": run["load_1min"],
        "cpu": cpu,
    }


def _cpu(runs: list[dict], n: int) -> dict:
    def med(side: str, stage: str | None = None) -> float:
        return statistics.median(sum(r[side].values()) if stage is None else r[side].get(stage, 0.0) for r in runs)

    prepass, extract_without, extract_with = (
        med("with", "language_prepass"),
        med("without", "extract"),
        med("with", "extract"),
    )
    total_without, total_with = med("without"), med("with")
    return {
        "prepass_ms_per_page": round(1000 * prepass / max(1, n), 3),
        "extract_ms_per_page": round(1000 * extract_without / max(1, n), 3),
        "prepass_over_extract": round(prepass / max(extract_without, 1e-9), 4),
        "extract_s_without": round(extract_without, 2),
        "extract_s_with": round(extract_with, 2),
        "prepass_s": round(prepass, 2),
        "chain_s_without": round(total_without, 2),
        "chain_s_with": round(total_with, 2),
        "chain_saved_share": round(1 - total_with / max(total_without, 1e-9), 4),
        "per_repeat": [{side: {k: round(v, 3) for k, v in r[side].items()} for side in r} for r in runs],
    }


def prepass_table(results: dict) -> str:
    """Per page set: kept documents without and with the pre-pass, what it skips, its CPU against extract's."""
    rows = []
    for s in results["summaries"]:
        c = s["cpu"]
        rows.append(
            [
                s["set"],
                f"{s['pages']:,}",
                f"{s['english_pages'] / max(1, s['pages']):.0%}",
                f"{s['kept_without']:,} / {s['kept_with']:,}",
                f"{len(s['lost'])}+{len(s['gained'])}+{len(s['changed'])}",
                s["differ_per_1000_kept"],
                f"{s['skipped']:,} ({s['skipped_share']:.1%})",
                f"{s['language_drops_skipped']:,} of {s['language_drops_without']:,}",
                f"{c['prepass_ms_per_page']:.2f} ms",
                f"{c['extract_ms_per_page']:.1f} ms",
                f"1/{1 / max(c['prepass_over_extract'], 1e-9):.1f}",
                f"{c['chain_saved_share']:.0%}",
            ]
        )
    header = ["pages", "n", "English", "kept without / with", "kept that differ (lost+gained+changed)"]
    header += ["per 1,000 kept", "skipped by pre-pass", "of the language stage's drops", "pre-pass CPU/page"]
    return markdown_table([*header, "extract CPU/page", "ratio", "chain CPU saved"], rows, align="l" + "r" * 11)


def skipped_table(results: dict) -> str:
    """Per page set: what the chain without the pre-pass did with the pages the pre-pass skips."""
    rows = [
        [s["set"], ", ".join(f"{k} {v}" for k, v in s["skipped_fate_without_prepass"].items())]
        for s in results["summaries"]
    ]
    return markdown_table(["pages", "what the chain without the pre-pass did with the pages it skips"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--limit", type=int, default=0, help="every k-th page of each set, about this many")
    parser.add_argument("--code", choices=("head", "worktree"), default="head", help="code_snapshot()")
    parser.add_argument("--extract-method", help="the extract stage's `method` (needs the code that has it)")
    parser.add_argument("--tag", default="", help="results to bench/out/eval_prepass[-TAG].json")
    parser.add_argument("--in-code", type=Path, help=argparse.SUPPRESS)  # the child that measures
    args = parser.parse_args()
    shared("html_eval")
    if args.in_code is None:
        code = code_snapshot(args.code)
        cmd, env = in_code(code, __spec__.name, *sys.argv[1:], "--in-code", str(code))
        sys.exit(subprocess.run(cmd, env=env, cwd=REPO).returncode)
    started, code = time.time(), args.in_code
    specs = chain_specs(code, args.extract_method)
    import pipeline

    assert Path(pipeline.__file__).is_relative_to(code), f"measuring {pipeline.__file__}, not the snapshot {code}"
    real = _limit(real_pages(), args.limit)
    runs = {"real": (real, measure(real, specs, args.jobs, args.repeats))}
    labels = {i: o["language"] for i, o in runs["real"][1]["outcomes"]["without"].items()}
    mix, made = cc_mix(real, labels)
    mix = _limit(mix, args.limit)
    runs["cc_mix"] = (mix, measure(mix, specs, args.jobs, args.repeats))
    mixed = _limit(mixed_pages(), args.limit)
    runs["mixed"] = (mixed, measure(mixed, specs, args.jobs, args.repeats))
    summaries = [summarize(name, pages, run) for name, (pages, run) in runs.items()]
    mixed_kinds = _by_kind(runs["mixed"][1])
    OUT.mkdir(exist_ok=True)
    result = {
        "summaries": summaries,
        "cc_mix_made": made,
        "mixed_by_kind": mixed_kinds,
        "args": {k: v for k, v in vars(args).items() if k != "in_code"},
    }
    result.update(
        code=str(code), chain={side: [(s.name, dataclasses.asdict(s.config)) for s in v] for side, v in specs.items()}
    )
    result.update(wall_s=round(time.time() - started, 1), cpus=os.cpu_count())
    (OUT / f"eval_prepass{'-' + args.tag if args.tag else ''}.json").write_text(json.dumps(result, indent=1))
    print(prepass_table(result) + "\n\n" + skipped_table(result))
    print("\nmixed pages by kind (skipped / kept without / kept with):", json.dumps(mixed_kinds))
    print(f"\nload (1-min) during the runs: {[s['load_1min'] for s in summaries]}; wall {result['wall_s']} s")


def _limit(pages: list[dict], limit: int) -> list[dict]:
    return pages[:: max(1, len(pages) // limit)][:limit] if limit else pages


def _by_kind(run: dict) -> dict:
    kinds: dict[str, list[int]] = {}
    without, with_ = run["outcomes"]["without"], run["outcomes"]["with"]
    for i in without:
        k = kinds.setdefault(i.split("/")[1], [0, 0, 0])
        k[0] += with_[i]["reason"] == PREPASS_REASON
        k[1] += without[i]["reason"] is None
        k[2] += with_[i]["reason"] is None
    return kinds


if __name__ == "__main__":
    main()
