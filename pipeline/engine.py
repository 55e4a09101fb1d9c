"""Run a pipeline on Ray: one task per input file, committed atomically, resumable exactly-once.

The only module that imports `ray`. Without an address (and no RAY_ADDRESS, which `ray job submit`
sets) it starts an embedded local Ray; otherwise it joins the named cluster.

Resume: the output folder holds `run.json` (the config fingerprint and the input list). A re-run with
the same config and inputs skips every file whose stats are committed and does the rest; a different
config or input list is refused rather than mixed into the same output.
"""

from __future__ import annotations

import collections
import functools
import logging
import os
import sys
import time
from dataclasses import dataclass, field

from core import corpus, quarantine, storage
from core.registry import REGISTRY
from core.retry import call_with_retries
from pipeline.config import ConfigError, PipelineConfig
from pipeline.filepass import PartPaths, io_retry_policy, process_file
from pipeline.inputs import expand_inputs
from pipeline.progress import Display, ProgressBoard, StepDisplay
from pipeline.report import write_report

# At most this many tasks per CPU are queued at once: keeps the driver's bookkeeping small on 90,000 files.
IN_FLIGHT_PER_CPU = 4
POLL_S = 1.0  # the driver refreshes the progress display about this often
QUARANTINE_ROUNDS = 20  # extra runs of a file whose attempts keep dying on new poison records
OUTPUT_FOLDERS = ("docs", "dropped", "stats")


@dataclass
class RunResult:
    report: dict
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file, error) for files not committed
    corpus_ran_without: list[tuple[str, str]] = field(default_factory=list)  # failed files under max_failed_files

    @property
    def unreadable(self) -> list[dict]:
        """The report's entries of input files committed as unreadable (not a WARC at all, missing, forbidden)."""
        return [f for f in self.report["files"] if f["status"] == "error"]

    @property
    def exit_code(self) -> int:
        """0 done; 1 a file failed (the corpus stages waited) or the counts do not add up; 3 done, but without
        the files `max_failed_files` let the corpus stages go on without, or with input files that could not be
        read at all (a scheduler must not take that for success)."""
        if not self.report["conservation"]["ok"] or (self.failed and not self.corpus_ran_without):
            return 1
        return 3 if self.corpus_ran_without or self.unreadable else 0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def run(config: PipelineConfig, address: str | None = None, num_cpus: int | None = None, echo=print) -> RunResult:
    files = expand_inputs(config.options.input, config.options.paths_base_url)
    output = config.options.output
    fs, _ = storage.filesystem(output)
    driver_io = io_retry_policy(config)  # the driver's own reads and writes of the output (object storage)
    todo = driver_io.call("prepare the output", _prepare_output, fs, output, config, files)
    echo(f"{len(files)} input files: {len(files) - len(todo)} already committed, {len(todo)} to process")
    failed = _run_tasks(todo, config, address, num_cpus, echo) if todo else []
    if failed:
        run_again = functools.partial(_run_tasks, config=config, address=address, num_cpus=num_cpus, echo=echo)
        failed = rerun_after_quarantine(output, files, failed, run_again, echo)
    go_on = len(failed) <= config.options.max_failed_files  # else the corpus stages wait for every file
    if config.corpus_stages and go_on:
        index_of = {path: i for i, path in enumerate(files)}
        without = [(index_of[path], path, error) for path, error in failed]
        driver_io.call("check the corpus inputs", _check_corpus_inputs, fs, config, without, echo)
        make_map = functools.partial(_ray_map, config, address, num_cpus, echo)
        _run_corpus_stages(fs, config, files, make_map, echo, {i for i, _, _ in without})
    elif config.corpus_stages:
        echo(
            f"dedup stages wait until every input file is committed ({len(failed)} failed, max_failed_files: "
            f"{config.options.max_failed_files}): run again, or raise max_failed_files to go on without them"
        )
    report_map = _ray_map(config, address, num_cpus, lambda line: None, "report", driver_io.retried)
    report = driver_io.call("write the report", _finish, fs, output, failed, report_map)
    return RunResult(report, failed, failed if config.corpus_stages and go_on else [])


def rerun_after_quarantine(output: str, files: list[str], failed: list[tuple[str, str]], run_again, echo):
    """Files whose every attempt died on a record the watchdog then quarantined have made progress: each attempt
    skipped one more such record (core/watchdog.py). Run them again, while their quarantine lists grow, at most
    QUARANTINE_ROUNDS times, so that a file with more poison records than Ray's `max_retries` still commits.
    One listing of quarantine/ a round, then a read of each failed file's list that exists (a file that failed for
    another reason costs nothing). Returns the files that still failed."""
    index_of = {path: i for i, path in enumerate(files)}
    known: dict[int, int] = {}
    fs, _ = storage.filesystem(output)
    for _ in range(QUARANTINE_ROUNDS):
        grown = []
        listed = storage.list_names(fs, storage.join(output, quarantine.FOLDER))
        for path, _error in failed:
            index = index_of[path]
            list_path = quarantine.path_for(output, index)
            count = len(quarantine.load(list_path)) if list_path.rsplit("/", 1)[-1] in listed else 0
            if count > known.get(index, 0):
                grown.append((index, path))
                known[index] = count
        if not grown:
            break
        echo(f"{len(grown)} files lost workers to records they have now quarantined: running them again")
        again = {path for _, path in grown}
        failed = [f for f in failed if f[0] not in again] + run_again(grown)
    return failed


def _check_corpus_inputs(fs, config: PipelineConfig, without: list[tuple[int, str, str]], echo) -> None:
    """Record which files the corpus stages run without (`work/corpus_inputs.json`). When that differs from what an
    earlier run recorded (files it went on without are committed now), the corpus stages' outputs are derived
    from another set of files: they are removed, and redone below."""
    output = config.options.output
    path = storage.join(output, "work", "corpus_inputs.json")
    record = {"without": [{"index": i, "file": f, "error": e} for i, f, e in without]}
    if without:
        echo(f"corpus stages run without {len(without)} failed files (max_failed_files)")
    if fs.exists(path):
        before = storage.read_json(fs, path)
        if [w["index"] for w in before["without"]] == [i for i, _, _ in without]:
            return
        echo(f"the corpus stages ran without {len(before['without'])} files, now without {len(without)}: redoing them")
        _remove_corpus_outputs(fs, config)
    storage.write_json(fs, path, record)


def _remove_corpus_outputs(fs, config: PipelineConfig) -> None:
    """Everything the corpus stages wrote (all of it derived from the committed per-file parts)."""
    output = config.options.output
    folders = [storage.join(output, "work", s.name) for s in config.corpus_stages]
    folders += [storage.join(output, "dropped", s.name) for s in config.corpus_stages]
    folders.append(storage.join(output, "tokens"))
    if config.doc_stages:  # the last corpus stage that rewrites documents wrote docs/
        folders.append(storage.join(output, "docs"))
    for folder in folders:
        if fs.exists(folder):
            fs.rm(folder, recursive=True)


def _finish(fs, output: str, failed: list[tuple[str, str]], report_map) -> dict:
    # Every task has finished, so no temporary file is still being written: remove what killed attempts left.
    storage.remove_leftovers(fs, output)
    return write_report(fs, output, failed, report_map)


def _run_corpus_stages(fs, config: PipelineConfig, files: list[str], make_map, echo, without=()) -> None:
    """Each corpus stage reads the parts the previous one wrote (of every file but those `without`); the last one
    writes docs/. `make_map(stage name, retry counter)` gives the stage its parallel map (Ray tasks in a run)."""
    output = config.options.output
    parts = [
        (i, PartPaths.for_index(output, i, config.per_file_docs_folder).docs)
        for i in range(len(files))
        if i not in without
    ]
    last_writer = config.doc_stages[-1].name if config.doc_stages else None
    for spec in config.corpus_stages:
        work = storage.join(output, "work", spec.name)
        final = storage.join(output, "docs") if spec.name == last_writer else storage.join(work, "docs")
        dirs = corpus.StageDirs(spec.name, output, work, final, config.options.drop_samples_per_reason)
        # A transient failure of the driver's own I/O redoes the stage: its steps are resumable, as after a kill.
        retry = io_retry_policy(config)
        ray_map = make_map(spec.name, retry.retried)
        task_bytes = corpus.task_data_bytes(config.options.max_task_memory_mb)
        ctx = corpus.CorpusContext(dirs, parts, ray_map, task_bytes)
        retry.call(f"stage {spec.name}", _run_corpus_stage, fs, spec, ctx, retry.retried)
        echo(f"{spec.name}: committed {len(parts)} parts")
        if spec in config.doc_stages:
            parts = [(i, dirs.part_out(i)) for i, _ in parts]


def _run_corpus_stage(fs, spec, ctx: corpus.CorpusContext, retried: collections.Counter) -> None:
    # The stage's own marker, written once all its steps returned: per-part stats alone are not enough
    # (tokenize commits them in its first step, before the shards and the manifest).
    marker_path = storage.join(ctx.dirs.work, "timing.json")
    if fs.exists(marker_path):
        return
    corpus.check_manifest(fs, ctx, spec.config)
    started = time.monotonic()
    REGISTRY.get(spec.name).build(spec.config).run(ctx)
    marker = {"wall_seconds": time.monotonic() - started, "io_retries": dict(sorted(retried.items()))}
    storage.write_json(fs, marker_path, marker)


def _ray_map(config: PipelineConfig, address, num_cpus, echo, label: str, retried: collections.Counter):
    """`map(fn, args_list)` for corpus stages: one Ray task per item, retried when a worker dies and, inside the
    task, on transient I/O failures (counted into `retried`); results in order."""

    def ray_map(fn, args_list: list[tuple]) -> list:
        import ray

        _init_ray(address, num_cpus)
        remote = ray.remote(max_retries=config.options.max_retries)(call_with_retries)
        task = remote.options(name=fn.__name__)  # workers show `ray::<step>`, as for a plain task
        io = (fn, config.options.io_attempts, config.options.io_retry_delay_s)
        results = [None] * len(args_list)
        step = StepDisplay(label, fn.__name__, len(args_list), echo)
        try:
            for i, ref in _as_completed(task, [(*io, *args) for args in args_list], on_wait=step.refresh):
                results[i], step_retried = ray.get(ref)  # a step that fails after its retries fails the run
                retried.update(step_retried)
                step.task_done()
        finally:
            step.close()
        echo(f"{label}: {fn.__name__} x {len(args_list)} done")
        return results

    return ray_map


def _prepare_output(fs, output: str, config: PipelineConfig, files: list[str]) -> list[tuple[int, str]]:
    """Check or write run.json, make the folders; returns the (index, file) pairs not committed yet."""
    manifest_path = storage.join(output, "run.json")
    manifest = {"config_fingerprint": config.fingerprint(), "inputs": files, "stages": config.stage_dicts()}
    if fs.exists(manifest_path):
        previous = storage.read_json(fs, manifest_path)
        if previous != manifest:
            what = "config" if previous.get("config_fingerprint") != manifest["config_fingerprint"] else "input list"
            raise ConfigError(
                f"{output} holds a run with a different {what}; resuming into it would mix two runs. "
                "Use a new --output, or delete the folder to start over."
            )
    for sub in OUTPUT_FOLDERS:
        storage.makedirs(fs, storage.join(output, sub))
    if not fs.exists(manifest_path):
        storage.write_json(fs, manifest_path, manifest)
    committed = storage.list_names(fs, storage.join(output, "stats"))  # one listing, not a request per file
    return [(i, f) for i, f in enumerate(files) if PartPaths.for_index(output, i).stats_name not in committed]


def _run_tasks(todo, config, address, num_cpus, echo) -> list[tuple[str, str]]:
    import ray

    _init_ray(address, num_cpus)
    task = ray.remote(max_retries=config.options.max_retries)(process_file)
    config_ref = ray.put(config)
    board = _progress_board()
    display = Display(len(todo), echo)
    args = [(index, path, config_ref, _BoardClient(board)) for index, path in todo]
    failed: list[tuple[str, str]] = []
    try:
        for i, ref in _as_completed(task, args, on_wait=lambda: _refresh(display, board)):
            index, path = todo[i]
            board.finish.remote(index)
            try:
                display.file_done(ray.get(ref))
            except Exception as e:  # the task failed after its retries: not committed, a re-run retries it
                failed.append((path, f"{type(e).__name__}: {str(e).splitlines()[-1] if str(e) else ''}"))
                display.file_failed(path, failed[-1][1])
    finally:
        display.close()
    return failed


def _progress_board():
    """The ProgressBoard actor, on the driver's node: a lost worker node must not take the display with it (and
    it restarts, empty, if it dies anyway)."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(), soft=True)
    return ray.remote(num_cpus=0, max_restarts=-1)(ProgressBoard).options(scheduling_strategy=here).remote()


def _refresh(display: Display, board) -> None:
    """Redraw from the board; progress is never worth failing a run for (a restarting actor, a slow reply)."""
    import ray

    try:
        display.refresh(ray.get(board.snapshot.remote(), timeout=POLL_S * 10))
    except (ray.exceptions.RayError, TimeoutError):
        pass


class _BoardClient:
    """What a file task calls to report its progress: a one-way message to the driver's ProgressBoard actor.
    A message that cannot be sent is dropped: progress never fails a file."""

    def __init__(self, board):
        self.board = board

    def __call__(self, *values) -> None:
        try:
            self.board.update.remote(*values)
        except Exception:  # the actor restarting after its node died; the next report gets through
            pass


def _as_completed(task, args_list: list[tuple], on_wait=None):
    """Submit `task` over args_list with at most IN_FLIGHT_PER_CPU tasks per CPU queued; yield (index, ref)
    as each finishes (the driver's bookkeeping stays small on 90,000 files). `on_wait()` runs about every
    POLL_S meanwhile (the progress display)."""
    import ray

    limit = max(1, int(ray.cluster_resources().get("CPU", 1)) * IN_FLIGHT_PER_CPU)
    queue, pending = collections.deque(enumerate(args_list)), {}
    polled = time.monotonic()
    while queue or pending:
        while queue and len(pending) < limit:
            i, args = queue.popleft()
            pending[task.remote(*args)] = i
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_S if on_wait else None)
        if on_wait and time.monotonic() - polled >= POLL_S:
            polled = time.monotonic()
            on_wait()
        for ref in ready:
            yield pending.pop(ref), ref


def _init_ray(address: str | None, num_cpus: int | None) -> None:
    import ray

    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, log_to_driver=True)
        return
    # Embedded single-node Ray: keep every socket on loopback and send no usage statistics. Ray turns token
    # authentication on by default for a new local cluster, which is right, and warns that it did on every run,
    # which is noise here (the environment variable that would name the mode is read when ray is imported).
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)
    ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, log_to_driver=True)
    print(f"started a local Ray instance (pid {os.getpid()})", file=sys.stderr)
