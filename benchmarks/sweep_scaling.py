"""Wall time of one sweep run locally with --jobs 1 and --jobs 2, and on a one-node Slurm
cluster started here, with Slurm's overhead per job and the Pareto table the sweep produced.

Each run starts from an empty sweep folder, so each trains the sweep's model groups itself.
The Slurm overhead per job is the mean wall time of ``srun true`` on the idle cluster (what
each SiliconCompiler node and model group pays on top of its work). Needs root for Slurm
(``--no-slurm`` leaves it out).
Run: ./bootstrap.sh python benchmarks/sweep_scaling.py [examples/sweep_micro.yaml] [--jobs 1,2]
     [--no-slurm]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ROOT, write

from econflow.cli import main as sc
from econflow.sweep.plan import load_sweep

sys.path.insert(0, str(ROOT / "tests"))
import slurm_cluster  # noqa: E402

PROBES = 20  # srun true, for the overhead per job


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep", nargs="?", default=str(ROOT / "examples" / "sweep_micro.yaml"))
    parser.add_argument(
        "--jobs",
        type=lambda text: [int(x) for x in text.split(",")],
        default=[1, 2],
        help="the local runs: variants at once in each (default 1,2)",
    )
    parser.add_argument("--no-slurm", action="store_true", help="only the local runs")
    args = parser.parse_args()
    sweep = load_sweep(args.sweep)
    name = f"sweep_{sweep.name}"
    figures: dict[str, Any] = {"sweep": str(args.sweep), "variants": len(sweep.variants)}
    figures["model_groups"] = len({v.models for v in sweep.variants})
    runs = figures["runs"] = {}
    for jobs in args.jobs:
        runs[f"local, --jobs {jobs}"] = _timed(args.sweep, ["--jobs", str(jobs)], True)
        write(name, figures)
    if not args.no_slurm:
        reason = slurm_cluster.missing()
        if reason:
            raise SystemExit(f"no Slurm run: {reason}")
        with tempfile.TemporaryDirectory(prefix="econflow-slurm-") as folder:
            cluster = slurm_cluster.Cluster(Path(folder)).start()
            try:
                env = cluster.environment
                figures["slurm_srun_overhead_s"] = _srun_overhead(env)
                run = _timed(args.sweep, ["--jobs", "2", "--scheduler", "slurm"], False, env)
                run["slurm_jobs"] = len(cluster.jobs())
                runs["slurm, --jobs 2"] = run
            finally:
                cluster.stop()
    write(name, figures)


def _timed(
    sweep: str, options: list[str], keep: bool, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """One sweep run into a fresh folder: its wall time, exit status and (``keep``) table."""
    build = ROOT / "build" / "benchmarks" / "sweep_scaling"
    shutil.rmtree(build, ignore_errors=True)
    saved = dict(os.environ)
    os.environ.update(env or {})
    start = time.perf_counter()
    try:
        code = sc(["sweep", sweep, *options, "--build-dir", str(build)])
    finally:
        os.environ.clear()
        os.environ.update(saved)
    found: dict[str, Any] = {"seconds": round(time.perf_counter() - start, 1), "exit": code}
    if keep:
        found["table"] = json.loads((build / "results.json").read_text())
    return found


def _srun_overhead(env: dict[str, str]) -> float:
    full = {**os.environ, **env}
    start = time.perf_counter()
    for _ in range(PROBES):
        subprocess.run(
            ["srun", "--partition", slurm_cluster.PARTITION, "true"], env=full, check=True
        )
    return round((time.perf_counter() - start) / PROBES, 3)


if __name__ == "__main__":
    main()
