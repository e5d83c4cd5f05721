"""The ``sc`` command: ``sc flow run``, ``sc verify``, ``sc report`` and ``sc check`` of a
design file, and ``sc tools``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from econflow import __version__
from econflow.config import STEPS, Config, load_config
from econflow.errors import ConfigError, EconflowError
from econflow.stage import read_metrics


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sc", description="econflow: design flow for on-detector neural-network encoders"
    )
    parser.add_argument("--version", action="version", version=f"econflow {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True)

    flow = commands.add_parser("flow", help="run the design flow")
    flow_commands = flow.add_subparsers(dest="flow_command", required=True)
    run = flow_commands.add_parser("run", help="run the flow steps of a design file")
    run.add_argument("design", type=Path, help="design file (encoder.yaml)")
    run.add_argument(
        "--steps",
        type=lambda s: [x.strip() for x in s.split(",") if x.strip()],
        help=f"comma-separated steps to run (of {','.join(STEPS)})",
    )
    run.add_argument("--from", dest="start", help="run from this step on")
    run.add_argument("--build-dir", type=Path, help="output directory (default build/<design>)")
    run.add_argument("--force", action="store_true", help="rerun steps even when unchanged")

    verify = commands.add_parser(
        "verify", help="run the verify step (RTL regressions and SEU injection) of a design"
    )
    verify.add_argument("design", type=Path, help="design file (encoder.yaml)")
    verify.add_argument("--build-dir", type=Path, help="output directory (default build/<design>)")
    verify.add_argument("--force", action="store_true", help="rerun even when unchanged")

    report = commands.add_parser("report", help="rebuild the report of a design's build")
    report.add_argument("design", type=Path, help="design file (encoder.yaml)")
    report.add_argument("--build-dir", type=Path, help="output directory (default build/<design>)")

    check = commands.add_parser("check", help="validate a design file and list the tools")
    check.add_argument("design", type=Path)

    commands.add_parser("tools", help="list the external tools the flow uses, with versions")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "check":
            return _check(args)
        if args.command == "tools":
            return _tools()
        if args.command == "verify":
            args.steps, args.start = ["verify"], None
        if args.command == "report":
            args.steps, args.start, args.force = ["report"], None, True
        return _flow_run(args)
    except EconflowError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _check(args: argparse.Namespace) -> int:
    cfg = load_config(args.design)
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
    from econflow.flow import tooling

    print(tooling.table(tooling.survey()))
    return 0


def _flow_run(args: argparse.Namespace) -> int:
    cfg = load_config(args.design)
    build_dir = args.build_dir or Path("build") / cfg.design.design.name
    from econflow.flow.runner import Runner, select_steps

    names = select_steps(cfg, args.steps, args.start)
    print(f"econflow {__version__}: {cfg.path.name} -> {build_dir} (steps: {', '.join(names)})")
    start = time.monotonic()
    runner = Runner(cfg, build_dir)
    reports = runner.run(names, force=args.force)
    stages = dict.fromkeys(runner.steps[name].stage for name in names)
    metric_files = [runner.metrics_path(stage) for stage in stages]
    _summary(cfg, metric_files, reports, time.monotonic() - start)
    return 0


def _get(metrics: dict[str, Any], dotted: str) -> Any:
    node: Any = metrics
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _summary(cfg: Config, metric_files: list[Path], reports: list, seconds: float) -> None:
    metrics: dict[str, Any] = {}
    for path in metric_files:
        metrics.update(read_metrics(path))
    print(f"\nsummary of {cfg.design.design.name} ({seconds:.1f} s)")
    for report in reports:
        print(f"  {report.name:<9} {report.status:<8} {report.seconds:7.1f} s")
    figures = [
        ("modules (train/holdout)", "data.train", "data.holdout"),
        ("mean occupancy (TCs)", "data.occupancy_mean", None),
        ("EMD-CNN relative error mean/std", "emd_cnn.rel_error_mean", "emd_cnn.rel_error_std"),
        ("autoencoder EMD mean/median", "autoencoder.emd_mean", "autoencoder.emd_median"),
        ("bit-exact mismatches / samples", "bit_exact.mismatches", "bit_exact.samples"),
        ("HLS C-sim mismatches / samples", "csim.mismatches", "csim.samples"),
        ("RTL latency (cycles)", "rtl.latency_cycles", None),
        ("Icarus mismatches / vectors", "verify.icarus.mismatches", "verify.icarus.vectors"),
        (
            "Verilator mismatches / vectors",
            "verify.verilator.mismatches",
            "verify.verilator.vectors",
        ),
        (
            "SEU corrupted / injections, TMR",
            "verify.seu.config.corrupted",
            "verify.seu.config.injections",
        ),
        (
            "SEU corrupted / injections, no TMR",
            "verify.seu.none.corrupted",
            "verify.seu.none.injections",
        ),
        (
            "RTL TMR-protected / register bits",
            "rtl.registers.protected_bits",
            "rtl.registers.total_bits",
        ),
        ("cells / flip-flops (post-synthesis)", "synth.cells", "synth.flip_flops"),
        ("cell area (um2, post-synthesis)", "synth.area_um2", None),
        ("WNS slow / typical (ns)", "sta.slow.wns_ns", "sta.typical.wns_ns"),
        ("gate-level mismatches / vectors", "gate_level.mismatches", "gate_level.vectors"),
        ("power (mW) / energy (nJ/inference)", "power.total_mw", "power.energy_per_inference_nj"),
    ]
    for label, first, second in figures:
        a = _get(metrics, first)
        if a is None:
            continue
        b = _get(metrics, second) if second else None
        text = _fmt(a) + (f" / {_fmt(b)}" if b is not None else "")
        print(f"  {label:<34} {text}")
    for name, values in sorted((metrics.get("baselines") or {}).items()):
        print(f"  {'baseline ' + name + ' EMD mean':<34} {_fmt(values['emd_mean'])}")
    print("artefacts:")
    for report in reports:
        for path in report.outputs:
            print(f"  {path}")
    for path in metric_files:
        print(f"  {path}")
    report = _get(metrics, "report.report_html")
    if report:
        print(f"report: {report}")


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    sys.exit(main())
