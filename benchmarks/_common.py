"""Helpers shared by the benchmark scripts: where results go and how they are written."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from pathlib import Path
from typing import Any

import yaml

import econflow
from econflow.cli import main as sc
from econflow.config import Config, load_config
from econflow.reports.results import BuildResults, load

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"


def write(name: str, figures: dict[str, Any]) -> Path:
    """Write ``results/<name>.json`` with the figures and the machine they came from."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    doc = {
        "benchmark": name,
        "econflow": econflow.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {"cpus": _cpus(), "python": platform.python_version()},
        **figures,
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {path}")
    return path


def design_parser(doc: str) -> argparse.ArgumentParser:
    """A benchmark's command line: the design file (default ``encoder.yaml``) and the build
    directory holding its earlier steps (default ``build/<design name>``)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("design", nargs="?", default=str(ROOT / "encoder.yaml"))
    parser.add_argument("--build-dir", default=None)
    return parser


def design_and_build(args: argparse.Namespace) -> tuple[Config, Path]:
    """The design file of :func:`design_parser`'s arguments, loaded, and its build directory."""
    cfg = load_config(args.design)
    return cfg, Path(args.build_dir or ROOT / "build" / cfg.design.design.name)


def _cpus() -> int:
    return len(os.sched_getaffinity(0))


def run_variant(
    cfg: Config,
    build: Path,
    name: str,
    hardware: dict[str, Any],
    steps: str,
    sections: dict[str, dict[str, Any]] | None = None,
) -> tuple[BuildResults, float]:
    """The design with ``hardware`` keys (and those of other ``sections``) changed, through
    ``steps`` (``sc flow run``) in its own build directory, whose models stage folder links
    to the design's (as a sweep's variants share theirs); its results and the wall time (s).
    Needs the models steps of the design to have run in ``build``."""
    out = build / "benchmarks" / name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    (out / "models").symlink_to(os.path.relpath(build / "models", out), target_is_directory=True)
    raw = yaml.safe_load(cfg.path.read_text())
    changed = {"hardware": hardware, **(sections or {})}
    variant = {**raw, **{key: {**raw.get(key, {}), **keys} for key, keys in changed.items()}}
    if "csv" in variant.get("data", {}):  # the variant file lives in the build directory
        variant["data"]["csv"] = [str(p) for p in cfg.csv_paths()]
    design = out / f"{cfg.design.design.name}_{name}.yaml"
    design.write_text(yaml.safe_dump(variant))
    print(f"== {name}: {hardware}", flush=True)
    start = time.perf_counter()
    if sc(["flow", "run", str(design), "--build-dir", str(out), "--steps", steps]) != 0:
        raise SystemExit(f"variant {name} failed")
    return load(out), round(time.perf_counter() - start, 1)
