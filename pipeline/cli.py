"""`python -m pipeline run stages.yaml [--input ...] [--output DIR] [--address ADDR]`, `... stages`, `... check`.

`python -m pipeline train-quality --positive FILE... --negative FILE... --output MODEL` trains the fastText
model of the `quality_classifier` stage (the work is in filters/quality_train.py).

The CLI takes the YAML path plus run-level flags only; everything about the recipe is in the YAML.
Exit codes: 0 done, 1 some input file failed or the counts do not add up, 2 config or usage error, 3 done
but an input file could not be read at all (named on stderr and in the report), or dedup and tokenize ran
without the failed files that `max_failed_files` allows.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import logging
import os
import signal
import sys

from core.registry import REGISTRY
from pipeline.config import ConfigError, RunOptions, load


def main(argv: list[str] | None = None) -> int:
    args, unknown = _parser().parse_known_args(argv)
    if unknown:  # the command's own usage, not the top-level one
        args.command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if getattr(args, "output_folder_needed", False):
            _check_output_folder(args.output)
        return args.func(args)
    except ConfigError as e:
        print(f"config error: {e}", file=sys.stderr)
        return 2
    finally:
        # Free Arrow readers while Arrow is still alive: one freed during interpreter teardown can abort the
        # process after the work is done (apache/arrow#34314).
        gc.collect()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pipeline", description="CommonCrawl to pretraining data, on Ray.")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="run the stages of a config over the input files")
    run.add_argument("config", help="stages.yaml")
    run.add_argument("--input", nargs="+", metavar="PATH_OR_GLOB", help="override 'input' of the config")
    run.add_argument("--output", metavar="DIR", help="override 'output' of the config (local folder or s3://)")
    run.add_argument("--paths-base-url", metavar="URL", help="override 'paths_base_url' (for warc.paths lists)")
    run.add_argument("--address", help="Ray cluster address (default: RAY_ADDRESS, else an embedded local Ray)")
    run.add_argument("--num-cpus", type=int, help="CPUs for the embedded local Ray (default: all)")
    run.set_defaults(func=_cmd_run, command_parser=run)
    check = sub.add_parser("check", help="validate a config and list its input files, without running")
    check.add_argument("config")
    check.add_argument("--input", nargs="+", metavar="PATH_OR_GLOB")
    check.set_defaults(func=_cmd_check, command_parser=check)
    stages = sub.add_parser("stages", help="list the registered stages with their config fields and defaults")
    stages.set_defaults(func=_cmd_stages, command_parser=stages)
    report = sub.add_parser(
        "report", help="rebuild report.json/.md/.html of an output folder from its committed stats"
    )
    report.add_argument("output", metavar="OUT")
    report.add_argument("--compare", metavar="OTHER", help="another run's output folder: both side by side")
    report.set_defaults(func=_cmd_report, command_parser=report, output_folder_needed=True)
    tokens = sub.add_parser("tokens", help="check or summarize the token shards of an output folder")
    tokens.add_argument("action", choices=("verify", "stats"))
    tokens.add_argument("output", metavar="OUT")
    tokens.set_defaults(func=_cmd_tokens, command_parser=tokens, output_folder_needed=True)
    _add_train_quality(sub)
    _add_train_lm(sub)
    return parser


def _add_train_quality(sub) -> None:
    from filters.quality_train import TrainParams

    d = TrainParams()
    train = sub.add_parser(
        "train-quality",
        help="train a fastText model for the quality_classifier stage (positives vs negatives, deterministic)",
        description="Inputs: .txt (documents separated by blank lines), .jsonl(.gz) with 'text', .parquet with "
        "'text'. Holds out a seeded test split and prints its accuracy, precision and recall.",
    )
    train.add_argument("--positive", nargs="+", required=True, metavar="FILE", help="documents of the label")
    train.add_argument("--negative", nargs="+", required=True, metavar="FILE", help="the other documents")
    train.add_argument("--output", required=True, metavar="MODEL", help="model file to write (.bin, or .ftz)")
    train.add_argument("--label", default=d.label, help=f"positive label (default {d.label})")
    train.add_argument("--negative-label", default=d.negative_label, help=f"default {d.negative_label}")
    train.add_argument("--quantize", action="store_true", help="product-quantize: a small .ftz")
    for name in ("epoch", "lr", "wordNgrams", "dim", "minCount", "bucket", "seed", "test_frac", "cutoff", "min_chars"):
        default = getattr(d, name)
        flag = "--" + name.replace("_", "-")
        train.add_argument(flag, dest=name, type=type(default), default=default, help=f"default {default}")
    train.add_argument("--report", metavar="JSON", help="also write the training report (inputs' sha256, metrics)")
    train.set_defaults(func=_cmd_train_quality, command_parser=train)


def _add_train_lm(sub) -> None:
    from filters.lm_train import LmParams

    d = LmParams()
    train = sub.add_parser(
        "train-lm",
        help="train a SentencePiece + KenLM model folder for the perplexity stage (CCNet's recipe; needs lmplz)",
        description="Inputs as train-quality's. Writes <language>.sp.model, <language>.arpa.bin, cutoff.csv "
        "(percentiles of the new model's perplexities over --crawl) and train_report.json into --output: a "
        "model_dir for the perplexity stage. Needs KenLM's lmplz and build_binary (PATH or --kenlm-bin).",
    )
    train.add_argument("--text", nargs="+", required=True, metavar="FILE", help="reference text (e.g. Wikipedia)")
    train.add_argument("--crawl", nargs="*", default=[], metavar="FILE", help="crawl documents for cutoff.csv")
    train.add_argument("--output", required=True, metavar="DIR", help="model folder to write")
    train.add_argument("--kenlm-bin", metavar="DIR", help="folder of lmplz and build_binary (default: PATH)")
    for f in dataclasses.fields(LmParams):  # --vocab-size, --order, --prune, --binary, ... (filters/lm_train.py)
        default = getattr(d, f.name)
        flag, kind = "--" + f.name.replace("_", "-"), type(default)
        train.add_argument(flag, dest=f.name, type=kind, default=default, help=f"default {default!r}")
    train.set_defaults(func=_cmd_train_lm, command_parser=train)


def _check_output_folder(output: str) -> None:
    """`report` and `tokens` read a run's output folder: say so plainly when `output` is not one."""
    from core import storage

    fs, _ = storage.filesystem(output)
    if not fs.exists(storage.join(output, "run.json")):
        raise ConfigError(f"{output}: not the output folder of a run (no run.json in it)")


def _load_with_overrides(args) -> "PipelineConfig":  # noqa: F821
    config = load(args.config)
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return config.with_overrides(
        input=tuple(args.input) if args.input else None,
        output=getattr(args, "output", None),
        paths_base_url=getattr(args, "paths_base_url", None),
    )


def _cmd_run(args) -> int:
    from pipeline.engine import run

    config = _load_with_overrides(args)
    try:
        result = run(config, address=args.address, num_cpus=args.num_cpus)
    except KeyboardInterrupt:
        # A second Ctrl-C while the embedded Ray shuts down quits at once, without a traceback (its processes
        # share the driver's fate); the summary is flushed first because os._exit skips that.
        signal.signal(signal.SIGINT, lambda *_: os._exit(130))
        committed = _committed_summary(config.options.output)
        print(f"\ninterrupted: {committed}; run the same command to resume", flush=True)
        return 130
    totals = result.report["totals"]
    print(
        f"done: {totals['records_read']} records read, {totals['kept']} kept, "
        f"{sum(totals['dropped'].values())} dropped, {sum(totals['errors'].values())} errors; "
        f"report: {config.options.output}/report.md"
    )
    unreadable = result.unreadable
    for f in unreadable[:20]:
        print(f"UNREADABLE (committed as an error of this file): {f['message']}", file=sys.stderr)
    if len(unreadable) > 20:
        print(f"... and {len(unreadable) - 20} more unreadable files: see report.json 'files'", file=sys.stderr)
    for path, error in result.failed:
        print(f"FAILED (not committed, a re-run retries it): {path}: {error}", file=sys.stderr)
    if result.corpus_ran_without:
        print(
            f"dedup and tokenize ran without these {len(result.corpus_ran_without)} files (max_failed_files); "
            "a re-run retries them and, if they commit, redoes dedup and tokenize over every file",
            file=sys.stderr,
        )
    if not result.report["conservation"]["ok"]:
        print("conservation check failed: " + "; ".join(result.report["conservation"]["problems"]), file=sys.stderr)
    return result.exit_code


def _committed_summary(output: str) -> str:
    """'N of M files committed' from one listing of stats/ (nothing when the run had not started)."""
    from core import storage

    try:
        fs, _ = storage.filesystem(output)
        inputs = storage.read_json(fs, storage.join(output, "run.json"))["inputs"]
        committed = len(storage.list_names(fs, storage.join(output, "stats")))
    except (OSError, KeyError, ValueError):
        return "nothing committed yet"
    return f"{committed} of {len(inputs)} input files committed"


def _cmd_check(args) -> int:
    from pipeline.inputs import expand_inputs

    config = _load_with_overrides(args)
    files = expand_inputs(config.options.input, config.options.paths_base_url)
    print(f"{args.config}: valid; {len(config.stages)} stages: {', '.join(s.name for s in config.stages)}")
    print(
        f"{len(files)} input files" + "".join(f"\n  {f}" for f in files[:20]) + ("\n  ..." if len(files) > 20 else "")
    )
    return 0


def _cmd_train_quality(args) -> int:
    import json

    from filters.quality_train import TrainParams, train_quality

    names = [f.name for f in dataclasses.fields(TrainParams)]
    params = TrainParams(**{n: getattr(args, n) for n in names})
    try:
        report = train_quality(args.positive, args.negative, args.output, params)
    except (OSError, ValueError, RuntimeError) as e:  # a missing or bad input file, a diverged training run
        print(f"train-quality: {e}", file=sys.stderr)
        return 2
    text = json.dumps(dataclasses.asdict(report), indent=1)
    if args.report:
        with open(args.report, "w") as f:
            f.write(text + "\n")
    print(text)
    return 0


def _cmd_train_lm(args) -> int:
    import json

    from filters.lm_train import LmParams, train_lm

    params = LmParams(**{f.name: getattr(args, f.name) for f in dataclasses.fields(LmParams)})
    try:
        report = train_lm(args.text, args.output, params, args.crawl, args.kenlm_bin)
    except (OSError, ValueError, RuntimeError) as e:  # a missing input or tool, lmplz failing
        print(f"train-lm: {e}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=1))
    return 0


def _cmd_report(args) -> int:
    from core import storage
    from pipeline.report import write_report
    from pipeline.report_html import write_html

    fs, _ = storage.filesystem(args.output)
    write_report(fs, args.output)
    if args.compare:
        from pipeline.report_compare import compare_text

        print(compare_text(args.output, args.compare))
    print(write_html(args.output, args.compare) if args.compare else storage.join(args.output, "report.html"))
    return 0


def _cmd_tokens(args) -> int:
    from pipeline.tokens import main_tokens

    return main_tokens(args.action, args.output)


def _cmd_stages(args) -> int:
    print("run-level keys (top of stages.yaml):")
    _print_fields(RunOptions)
    for name in REGISTRY.names():
        entry = REGISTRY.get(name)
        print(f"\n{name} ({entry.kind}): {entry.doc}")
        _print_fields(entry.config_cls)
    return 0


def _print_fields(cls) -> None:
    for f in dataclasses.fields(cls):
        meta = f.metadata
        bounds = []
        if meta.get("ge") is not None:
            bounds.append(f">= {meta['ge']}")
        if meta.get("le") is not None:
            bounds.append(f"<= {meta['le']}")
        if meta.get("choices"):
            bounds.append("one of " + ", ".join(map(str, meta["choices"])))
        extra = f" [{'; '.join(bounds)}]" if bounds else ""
        default = list(f.default) if isinstance(f.default, tuple) else f.default
        print(f"  {f.name}: {default!r}{extra}  # {meta.get('help', '')}")
