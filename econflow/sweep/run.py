"""Runs a sweep's variants, several at once, each an ``sc flow run`` of its own design file.

The sweep folder holds ``models/<fingerprint>/`` (a build folder per model group: its model
steps run there once) and ``variants/<name>/`` (a build folder per variant, whose ``models``
stage folder links to its group's, its design file ``design.yaml`` and its ``run.log``).
Each variant is a separate ``sc`` process: a failing one is reported and the others go on,
and its runner's records make a rerun skip what already holds. While a variant runs it holds
a shared lock on its group's folder (``econflow.lock``), so nothing retrains it meanwhile.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psutil
import yaml

from econflow import processes
from econflow.config import STEPS
from econflow.lock import build_lock
from econflow.scheduler import Scheduler
from econflow.sweep.plan import Sweep, Variant, model_steps

MODELS = "models"


@dataclass(frozen=True)
class Outcome:
    """How one variant's run ended: ``error`` is the run's last error line (None: it ran)."""

    variant: str
    seconds: float
    error: str | None = None


@dataclass(frozen=True)
class SweepPaths:
    root: Path

    def group(self, fingerprint: str) -> Path:
        return self.root / MODELS / fingerprint

    def variant(self, name: str) -> Path:
        return self.root / "variants" / name


def run_sweep(
    sweep: Sweep, root: Path, jobs: int, scheduler: Scheduler, force: bool = False
) -> list[Outcome]:
    """Run every variant's steps, ``jobs`` processes at once, the model groups first: with
    Slurm, each group's model steps are one job, and each variant's flow nodes are jobs that
    SiliconCompiler submits (the variant's own process runs here)."""
    paths = SweepPaths(root)
    shared = [s for s in sweep.steps if s in {step.name for step in model_steps()}]
    rest = [s for s in sweep.steps if s not in shared]
    groups: dict[str, list[Variant]] = {}
    for variant in sweep.variants:
        groups.setdefault(variant.models, []).append(variant)
    with build_lock(root):
        for variant in sweep.variants:
            _write_design(variant, paths.variant(variant.name), sweep)
        failed: dict[str, str] = {}
        if shared:
            print(f"models: {len(groups)} group(s) for {len(sweep.variants)} variants", flush=True)
            for fingerprint, members in groups.items():
                _write_design(members[0], paths.group(fingerprint), sweep)
            tasks = [_Task(fp, paths.group(fp), shared, scheduler) for fp in groups]
            for outcome in _parallel(tasks, jobs, force, "models"):
                if outcome.error is not None:
                    failed[outcome.variant] = f"its models failed: {outcome.error}"
        for variant in sweep.variants:
            _link_models(paths.variant(variant.name), paths.group(variant.models))
        outcomes = [
            Outcome(v.name, 0.0, failed[v.models]) for v in sweep.variants if v.models in failed
        ]
        pending = [
            _Task(v.name, paths.variant(v.name), rest, Scheduler())
            for v in sweep.variants
            if v.models not in failed
        ]
        if rest:
            outcomes += _parallel(pending, jobs, force, "variant")
        else:
            outcomes += [Outcome(task.name, 0.0) for task in pending]
    order = [v.name for v in sweep.variants]
    return sorted(outcomes, key=lambda o: order.index(o.variant))


def jobs_in_memory(jobs: int, memory_gb: float) -> int:
    """At most as many variants at once as the memory now available holds (at least one),
    saying so when that is fewer than asked."""
    fits = max(1, int(psutil.virtual_memory().available / 2**30 // memory_gb))
    if fits < jobs:
        print(
            f"--jobs {jobs}: {fits} at once, as {psutil.virtual_memory().available / 2**30:.1f} "
            f"GiB are available and a variant may take {memory_gb:g} GB (sweep file: memory_gb)",
            flush=True,
        )
    return min(jobs, fits)


def _write_design(variant: Variant, folder: Path, sweep: Sweep) -> None:
    """The variant's whole design as a design file (CSV paths absolute, as it moved)."""
    design = variant.cfg.design.model_dump(mode="json")
    design["data"]["csv"] = [str(p) for p in variant.cfg.csv_paths()]
    folder.mkdir(parents=True, exist_ok=True)
    header = (
        f"# Variant '{variant.name}' of the sweep {sweep.path} (base design {sweep.design}),\n"
        "# written by sc sweep: edit the sweep file, not this one.\n"
    )
    text = header + yaml.safe_dump(design, sort_keys=False)
    target = folder / "design.yaml"
    if not target.is_file() or target.read_text() != text:
        target.write_text(text)


def _link_models(variant: Path, group: Path) -> None:
    """The variant's models stage folder: a relative link to its group's."""
    link = variant / MODELS
    target = Path(os.path.relpath(group / MODELS, variant))
    if link.is_symlink():
        if Path(os.readlink(link)) == target:
            return
        link.unlink()
    elif link.exists():
        raise FileExistsError(0, "in the way of the link to the shared models", str(link))
    (group / MODELS).mkdir(parents=True, exist_ok=True)
    link.symlink_to(target, target_is_directory=True)


@dataclass(frozen=True)
class _Task:
    """One ``sc flow run``: of the design file in ``folder``, into ``folder``; ``scheduler``
    runs the whole process (as one Slurm job, or here)."""

    name: str
    folder: Path
    steps: list[str]
    scheduler: Scheduler

    def command(self, kind: str, force: bool) -> list[str]:
        command = [sys.executable, "-m", "econflow.cli", "flow", "run"]
        command += [str(self.folder / "design.yaml"), "--build-dir", str(self.folder)]
        command += ["--steps", ",".join(s for s in STEPS if s in self.steps)]
        command += ["--force"] if force else []
        return self.scheduler.srun(self.job_name(kind), command)

    def job_name(self, kind: str) -> str:
        return f"econflow-{kind}-{self.name}"


def _parallel(tasks: list[_Task], jobs: int, force: bool, kind: str) -> list[Outcome]:
    """Run the tasks, ``jobs`` at once, printing each end."""
    done: list[Outcome] = []

    def run(task: _Task) -> Outcome:
        log = task.folder / "run.log"
        start = time.monotonic()
        with log.open("w") as out:
            command = task.command(kind, force)
            code = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
        error = None if code.returncode == 0 else _last_error(log, code.returncode)
        outcome = Outcome(task.name, round(time.monotonic() - start, 1), error)
        done.append(outcome)
        status = "done" if error is None else f"FAILED: {error}"
        print(
            f"[{kind} {len(done)}/{len(tasks)}] {task.name}: {status} ({outcome.seconds:.1f} s)",
            flush=True,
        )
        return outcome

    pool = ThreadPoolExecutor(max(1, jobs), f"sweep-{kind}")
    try:
        return list(pool.map(run, tasks))
    except BaseException:
        print(f"stopping the running {kind} runs", flush=True)
        pool.shutdown(wait=False, cancel_futures=True)
        processes.stop(processes.descendants())  # the cluster jobs: build_lock cancels them
        raise
    finally:
        pool.shutdown(wait=True)


def _last_error(log: Path, code: int) -> str:
    """The run's own error line, else its exit status; with the log to read."""
    text = log.read_text(errors="replace").splitlines()
    lines = [line for line in text if line.startswith("error: ")]
    what = lines[-1].removeprefix("error: ") if lines else f"exit status {code}"
    return f"{what} (log: {log})"
