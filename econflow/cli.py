"""The ``sc`` command: ``sc flow run``, ``sc train``, ``sc verify``, ``sc report`` and
``sc check`` of a design file, ``sc sweep`` of a sweep file, and ``sc tools``."""

from __future__ import annotations

import argparse
import functools
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from econflow import __version__
from econflow.config import STEPS, Config, load_config
from econflow.errors import ConfigError, EconflowError
from econflow.scheduler import SCHEDULERS, Scheduler

if TYPE_CHECKING:
    from econflow.runner import Runner


def _step_list(text: str) -> list[str]:
    """``--steps a,b``: the names, blanks dropped (validated against the steps later)."""
    return [x.strip() for x in text.split(",") if x.strip()]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sc", description="econflow: design flow for on-detector neural-network encoders"
    )
    parser.add_argument("--version", action="version", version=f"econflow {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    # --debug after the subcommand too; SUPPRESS keeps the top-level value when it is absent
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks on errors"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    cluster = argparse.ArgumentParser(add_help=False)
    cluster.add_argument(
        "--scheduler",
        choices=SCHEDULERS,
        default="local",
        help="where SiliconCompiler's nodes run: here, or as Slurm jobs (shared filesystem)",
    )
    cluster.add_argument("--partition", help="Slurm partition (default: the cluster's default)")

    flow = commands.add_parser("flow", help="run the design flow", parents=[debug])
    flow_commands = flow.add_subparsers(dest="flow_command", required=True)
    run = flow_commands.add_parser(
        "run", help="run the flow steps of a design file", parents=[debug, cluster]
    )
    run.add_argument("design", type=Path, help="design file (encoder.yaml)")
    run.add_argument(
        "--steps",
        type=_step_list,
        help=f"comma-separated steps to run (of {','.join(STEPS)})",
    )
    run.add_argument("--from", dest="start", help="run from this step on")
    run.add_argument("--build-dir", type=Path, help="output directory (default build/<design>)")
    run.add_argument("--force", action="store_true", help="rerun steps even when unchanged")
    run.add_argument(
        "--accept-edit",
        dest="accept",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="take a hand-edited artefact as it is (the report says so); repeatable",
    )

    train = commands.add_parser(
        "train",
        help="train a design's autoencoder (steps data, emd for the EMD loss, train)",
        parents=[debug],
    )
    train.add_argument("design", type=Path, help="design file (encoder.yaml)")
    train.add_argument("--loss", help="override training.loss (emd, telescope, mse or emd_exact)")
    train.add_argument("--epochs", type=int, help="override training.epochs")
    train.add_argument("--build-dir", type=Path, help="output directory (default build/<design>)")
    train.add_argument("--force", action="store_true", help="rerun steps even when unchanged")

    verify = commands.add_parser(
        "verify",
        help="run the verify step (RTL regressions and SEU injection) of a design",
        parents=[debug],
    )
    verify.add_argument("design", type=Path, help="design file (encoder.yaml)")
    verify.add_argument("--build-dir", type=Path, help="output directory (default build/<design>)")
    verify.add_argument("--force", action="store_true", help="rerun even when unchanged")

    report = commands.add_parser(
        "report", help="rebuild the report of a design's build", parents=[debug]
    )
    report.add_argument("design", type=Path, help="design file (encoder.yaml)")
    report.add_argument("--build-dir", type=Path, help="output directory (default build/<design>)")

    check = commands.add_parser(
        "check", help="validate a design file and list the tools", parents=[debug]
    )
    check.add_argument("design", type=Path)

    sweep = commands.add_parser(
        "sweep",
        help="run the variants of a sweep file and compare them",
        parents=[debug, cluster],
    )
    sweep.add_argument("sweep", type=Path, help="sweep file (a base design file and axes)")
    sweep.add_argument("--jobs", type=int, default=1, help="variants run at once (default 1)")
    sweep.add_argument(
        "--steps",
        type=_step_list,
        help="comma-separated steps of every variant (default: the sweep file's)",
    )
    sweep.add_argument(
        "--build-dir", type=Path, help="output directory (default build/sweeps/<sweep name>)"
    )
    sweep.add_argument("--force", action="store_true", help="rerun steps even when unchanged")

    commands.add_parser(
        "tools", help="list the external tools the flow uses, with versions", parents=[debug]
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        _on_sigterm()
    try:
        if args.command == "check":
            return _check(args)
        if args.command == "tools":
            return _tools()
        if args.command == "train":
            return _train(args)
        if args.command == "sweep":
            return _sweep(args)
        if args.command == "verify":
            args.steps, args.start, args.accept = ["verify"], None, []
        if args.command == "report":
            args.steps, args.start, args.force, args.accept = ["report"], None, True, []
        return _flow_run(args)
    except EconflowError as exc:
        if args.debug:
            raise
        print("\n".join(f"error: {line}" for line in str(exc).splitlines()), file=sys.stderr)
        return 1
    except OSError as exc:  # the file system refused (permissions, full disk, a file in the way)
        if args.debug:
            raise
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        stopped = _stop_children()
        print(
            f"interrupted{f': stopped {stopped} child processes' if stopped else ''}",
            file=sys.stderr,
        )
        return 130


def _on_sigterm() -> None:
    """Take SIGTERM as Ctrl-C here, and leave it its default action in forked children."""
    signal.signal(signal.SIGTERM, _terminated)
    _forks_end_on_sigterm()


def _terminated(_signum: int, _frame: object) -> None:
    """SIGTERM as Ctrl-C: the running step fails (its record stays removed, so the next run
    reruns it) and the children stop."""
    raise KeyboardInterrupt


_FORKING = threading.local()


@functools.cache
def _forks_end_on_sigterm() -> None:
    """A process forked from this one (a library's worker pool, which the pool ends with
    SIGTERM) gets SIGTERM's default action back, with SIGTERM blocked across the fork.

    Python discards a signal that reaches a new child before its interpreter has finished
    the fork, so a pool ended as soon as it started (SiliconCompiler's run check does so)
    could wait forever on a worker that missed its SIGTERM and never ends. Blocked, the
    signal stays pending and ends the child once it is unblocked there.
    """
    sigterm = {signal.SIGTERM}

    def before() -> None:
        _FORKING.mask = signal.pthread_sigmask(signal.SIG_BLOCK, sigterm)

    def in_parent() -> None:
        signal.pthread_sigmask(signal.SIG_SETMASK, _FORKING.mask)

    def in_child() -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, _FORKING.mask)

    os.register_at_fork(before=before, after_in_parent=in_parent, after_in_child=in_child)


def _stop_children() -> int:
    """Stop every process this one started (SiliconCompiler's nodes and manager,
    simulators, KLayout, worker pools)."""
    from econflow import processes

    return processes.stop(processes.descendants())


def _check(args: argparse.Namespace) -> int:
    from econflow import pdk

    cfg = load_config(args.design)
    pdk.load_config(cfg)  # an unknown pdk.name: refused here, not at synth
    for index, csv in enumerate(cfg.csv_paths()):
        if not csv.is_file():
            raise ConfigError(cfg.path, f"data.csv.{index}", f"file not found: {csv}")
    d = cfg.design
    print(
        f"ok: {args.design}: design '{d.design.name}', {d.model.dense.latent} latent values x "
        f"{d.model.latent.bits} bits, loss '{d.training.loss}', steps {','.join(d.flow.steps)}"
    )
    return _tools()


def _tools() -> int:
    from econflow import toolchain

    print(toolchain.table(toolchain.survey()))
    return 0


def _train(args: argparse.Namespace) -> int:
    from econflow.api import train_steps

    options = {"training.loss": args.loss, "training.epochs": args.epochs}
    changes = {key: value for key, value in options.items() if value is not None}
    cfg = load_config(args.design, changes)
    if changes:
        given = ", ".join(f"{key}={value}" for key, value in changes.items())
        print(f"overriding {given} (the design file's train step reruns on its next run)")
    args.steps, args.start, args.accept = train_steps(cfg), None, []
    return _flow_run(args, cfg)


def _sweep(args: argparse.Namespace) -> int:
    from econflow.reports import sweep as sweep_report
    from econflow.sweep import plan, run, table

    sweep = plan.load_sweep(args.sweep)
    if args.steps is not None:
        sweep = plan.with_steps(sweep, args.steps, "--steps")
    if args.jobs < 1:
        raise ConfigError(args.sweep, "--jobs", f"expected at least 1, got {args.jobs}")
    scheduler = _use_scheduler(args, sweep.memory_gb)
    jobs = args.jobs
    if scheduler.name == "local":
        jobs = run.jobs_in_memory(args.jobs, sweep.memory_gb)
    root = args.build_dir or Path("build") / "sweeps" / sweep.name
    groups = len({v.models for v in sweep.variants})
    print(
        f"econflow {__version__}: sweep {sweep.name}: {len(sweep.variants)} variants, "
        f"{groups} model group(s), {jobs} at once ({scheduler.name}) -> {root} "
        f"(steps: {', '.join(sweep.steps)})"
    )
    outcomes = run.run_sweep(sweep, root, jobs, scheduler, args.force)
    rows = table.rows(sweep, root, outcomes)
    written = [*table.write(rows, root), sweep_report.write(rows, sweep.axes, root, sweep.name)]
    print(f"\n{'variant':<32} {'status':<7} {'EMD':>7} {'area um2':>11} {'nJ':>8}  Pareto")
    for row in rows:
        figures = [row.get("emd_mean"), row.get("area_um2"), row.get("energy_nj")]
        text = [f"{x:.4g}" if x is not None else "-" for x in figures]
        print(
            f"{row['variant']:<32} {row['status']:<7} {text[0]:>7} {text[1]:>11} {text[2]:>8}  "
            f"{', '.join(sweep_report.fronts(row))}"
        )
    print(f"shared models: {root / run.MODELS}/<fingerprint>/models")
    print("results:\n" + "\n".join(f"  {path}" for path in written))
    failed = [o for o in outcomes if o.error is not None]
    for outcome in failed:
        print(f"error: variant {outcome.variant}: {outcome.error}", file=sys.stderr)
    return 1 if failed else 0


def _use_scheduler(args: argparse.Namespace, memory_gb: float | None = None) -> Scheduler:
    """The run's scheduler, checked (a cluster that cannot take jobs stops the run here,
    before any step), and exported to every process the run starts."""
    scheduler = Scheduler(args.scheduler, args.partition, memory_gb).resolved()
    scheduler.export()
    return scheduler


def _flow_run(args: argparse.Namespace, cfg: Config | None = None) -> int:
    cfg = cfg or load_config(args.design)
    if getattr(args, "scheduler", "local") != "local":
        _use_scheduler(args)
    build_dir = args.build_dir or Path("build") / cfg.design.design.name
    from econflow.runner import Runner, select_steps

    names = select_steps(cfg, args.steps, args.start)
    print(f"econflow {__version__}: {cfg.path.name} -> {build_dir} (steps: {', '.join(names)})")
    start = time.monotonic()
    runner = Runner(cfg, build_dir)
    reports = runner.run(names, force=args.force, accept=args.accept)
    stages = runner.stage_metrics(names)
    _summary(runner, {s.STAGE for s in stages}, reports, time.monotonic() - start)
    print("artefacts:")
    for report in reports:
        for path in report.outputs:
            print(f"  {path}")
    for stage in stages:
        print(f"  {stage.path(build_dir)}")
    from econflow.reports.results import ReportMetrics

    report = ReportMetrics.read(build_dir).report
    if ReportMetrics in stages and report is not None:
        print(f"report: {report.report_html}")
    return 0


def _summary(runner: Runner, stages: set[str], reports: list, seconds: float) -> None:
    """Each step's time, then the key figures of the stages this run touched (those that
    hold for the design file)."""
    from econflow.reports.summary import figures

    print(f"\nsummary of {runner.cfg.design.design.name} ({seconds:.1f} s)")
    for report in reports:
        print(f"  {report.name:<9} {report.status:<8} {report.seconds:7.1f} s")
    for label, text in figures(runner.build_dir, stages, runner.provenance.verdict()):
        print(f"  {label:<40} {text}")


if __name__ == "__main__":
    sys.exit(main())
