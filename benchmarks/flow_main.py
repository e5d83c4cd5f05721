"""The main job's figures: a design through every step of ``sc flow run``, with each step's
runtime and the headline PPA and quality figures.

Runs ``sc flow run DESIGN`` (steps whose inputs and configuration are unchanged are skipped, so
after the main job this only collects; ``--collect`` skips the run, for a build made by an
earlier checkout), then takes each step's runtime from the build directory's manifests (the run
that produced the artefact), the wall time from the first start to the last finish, and the
figures from the stages' metrics JSON.

Run: ./bootstrap.sh python benchmarks/flow_main.py [encoder.yaml] [--build-dir DIR] [--collect]
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from _common import ROOT, write

from econflow.cli import main as sc
from econflow.config import load_config
from econflow.reports.results import REPORTED, BuildResults, ReportMetrics, load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("design", nargs="?", default=str(ROOT / "encoder.yaml"))
    parser.add_argument("--build-dir", default=None)
    parser.add_argument("--collect", action="store_true", help="only read the build directory")
    args = parser.parse_args()
    cfg = load_config(args.design)
    build = Path(args.build_dir or Path("build") / cfg.design.design.name)
    if not args.collect and sc(["flow", "run", args.design, "--build-dir", str(build)]) != 0:
        raise SystemExit("the flow failed")
    steps: dict[str, dict[str, Any]] = {}
    for stage in (*REPORTED, ReportMetrics):
        for name, record in _recorded_steps(build / stage.STAGE / "manifest.json").items():
            steps[name] = {"seconds": record["seconds"], "finished": record["finished"]}
    figures = {"design": args.design, "build": str(build), **_figures(load(build), steps)}
    write(f"flow_main_{cfg.design.design.name}", figures)


def _recorded_steps(manifest: Path) -> dict[str, dict[str, Any]]:
    """The steps a stage's manifest records (each from the run that made its artefacts)."""
    return json.loads(manifest.read_text())["steps"] if manifest.is_file() else {}


def _wall_seconds(steps: dict[str, dict[str, Any]]) -> float:
    """First start to last finish: less than the steps' sum when a step ran beside others
    (``equiv``); meaningful when one run made every artefact."""
    finished = {
        n: datetime.strptime(s["finished"], "%Y-%m-%dT%H:%M:%S%z") for n, s in steps.items()
    }
    first = min(finished[n].timestamp() - s["seconds"] for n, s in steps.items())
    return round(max(f.timestamp() for f in finished.values()) - first, 1)


def _figures(r: BuildResults, steps: dict[str, dict[str, Any]]) -> dict[str, Any]:
    synth, sta, power, gate = r.flow.synth, r.flow.sta, r.flow.power, r.flow.gate_level
    if synth is None or sta is None or power is None or gate is None:
        raise SystemExit("the build has no synthesis, timing, gate-level or power figures")
    ae, cnn = r.models.autoencoder, r.models.emd_cnn
    return {
        "steps": steps,
        "total_step_seconds": round(sum(s["seconds"] for s in steps.values()), 1),
        "wall_seconds": _wall_seconds(steps),
        "autoencoder_emd_mean": ae.emd_mean if ae else None,
        "emd_cnn": cnn.model_dump(exclude={"runtime_s"}) if cnn else None,
        "emd_cnn_refined": r.models.emd_cnn_refined.model_dump()
        if r.models.emd_cnn_refined
        else None,
        "synth": synth.model_dump(
            include={
                "origin",
                "cells",
                "area_um2",
                "flip_flops",
                "flip_flop_area_um2",
                "protected_bits",
                "tmr_copy_area_um2",
            }
        ),
        "sta": {
            "origin": sta.origin,
            "clock_period_ns": sta.clock_period_ns,
            **{
                name: corner.model_dump(include={"wns_ns", "tns_ns", "fmax_mhz", "meets"})
                for name, corner in sta.corners.items()
            },
        },
        "gate_level": gate.model_dump(include={"vectors", "mismatches", "origin"}),
        "power": power.model_dump(
            include={
                "origin",
                "corner",
                "internal_mw",
                "switching_mw",
                "leakage_mw",
                "total_mw",
                "energy_per_inference_nj",
            }
        ),
    }


if __name__ == "__main__":
    main()
