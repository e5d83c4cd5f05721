"""Where heavy work runs: on this machine, or as jobs of a Slurm cluster.

With Slurm, SiliconCompiler sends each flow node as a job of its own (its scheduler:
``option,scheduler,name`` ``slurm``, one blocking ``srun`` per node), and ``sc sweep`` runs
each model group's steps as one ``srun`` job. Both assume what SiliconCompiler assumes: the
build folder lies on a filesystem every node shares at the same path, and every node has the
same tools and Python environment (the jobs inherit this process's environment, the venv's
``bin`` first on ``PATH``). The choice travels to the processes a run starts in environment
variables (``ECONFLOW_SCHEDULER``, ``ECONFLOW_SLURM_PARTITION``, ``ECONFLOW_SLURM_MEM_GB``),
so a sweep's variants and their SiliconCompiler nodes all see it.

Every job carries the ids of the runs it belongs to in its Slurm comment (``econflow-runs:``
and the ids of ``ECONFLOW_RUNS``, which :mod:`econflow.lock` sets: the run holding the build
folder and the runs that started it, such as a sweep). A run's jobs are found through the
cluster by those ids and cancelled by job ID: when the run is interrupted, and when the next
run on its build folder finds it was killed (:mod:`econflow.lock`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Literal

from econflow.errors import EconflowError, ToolMissingError

SCHEDULERS = ("local", "slurm")
_NAME, _PARTITION, _MEMORY = (
    "ECONFLOW_SCHEDULER",
    "ECONFLOW_SLURM_PARTITION",
    "ECONFLOW_SLURM_MEM_GB",
)
_TIMEOUT_S = 10
RUNS_VARIABLE = "ECONFLOW_RUNS"  # the ids of the runs a process belongs to, comma-separated
_TAG = "econflow-runs:"


class SchedulerError(EconflowError):
    """The cluster cannot take jobs (no controller answers, no such partition)."""


@dataclass(frozen=True)
class Scheduler:
    name: Literal["local", "slurm"] = "local"
    partition: str | None = None  # None: the cluster's default
    memory_gb: float | None = None  # Slurm --mem of each job

    @classmethod
    def from_environment(cls) -> Scheduler:
        name = os.environ.get(_NAME, "local")
        if name not in SCHEDULERS:
            raise SchedulerError(f"{_NAME}={name!r}: expected one of {', '.join(SCHEDULERS)}")
        memory = os.environ.get(_MEMORY)
        return cls(name, os.environ.get(_PARTITION) or None, float(memory) if memory else None)  # type: ignore[arg-type]

    def export(self) -> None:
        """Put the choice in this process's environment, for every process it starts."""
        os.environ[_NAME] = self.name
        for variable, value in ((_PARTITION, self.partition), (_MEMORY, self.memory_gb)):
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = str(value)

    @property
    def options(self) -> list[str]:
        """Options of every job beyond the partition: its memory, and the runs it belongs to."""
        memory = [f"--mem={round(self.memory_gb * 1024)}M"] if self.memory_gb else []
        runs = os.environ.get(RUNS_VARIABLE)
        return [*memory, *([f"--comment={_TAG}{runs}"] if runs else [])]

    def srun(self, job_name: str, command: list[str]) -> list[str]:
        """``command`` as a blocking Slurm job (unchanged for the local scheduler)."""
        if self.name == "local":
            return command
        prefix = ["srun", "--partition", str(self.partition), "--job-name", job_name]
        return [*prefix, *self.options, "--chdir", os.getcwd(), *command]

    def resolved(self) -> Scheduler:
        """The scheduler with its partition named, checked to take jobs now (one line when
        not: no Slurm commands, no controller answering, no such partition).

        Raises:
            ToolMissingError: Slurm's commands are not installed.
            SchedulerError: the controller does not answer, or lacks the partition.
        """
        if self.name == "local":
            return self
        if shutil.which("sinfo") is None or shutil.which("srun") is None:
            raise ToolMissingError(
                "--scheduler slurm: Slurm's commands (sinfo, srun) are not installed "
                "(Debian: apt install slurm-client)"
            )
        try:
            found = _ask(["sinfo", "--noheader", "--format", "%P %a"])
        except subprocess.TimeoutExpired:
            raise SchedulerError(
                f"--scheduler slurm: the Slurm controller did not answer in {_TIMEOUT_S} s"
            ) from None
        if found.returncode != 0:
            reason = (found.stderr.strip().splitlines() or ["sinfo failed"])[-1]
            raise SchedulerError(f"--scheduler slurm: no Slurm controller answers ({reason})")
        partitions = dict(line.split()[:2] for line in found.stdout.splitlines() if line.strip())
        default = next((p for p in partitions if p.endswith("*")), None)
        names = {p.rstrip("*"): state for p, state in partitions.items()}
        partition = self.partition or (default.rstrip("*") if default else None)
        if partition not in names:
            raise SchedulerError(
                f"--scheduler slurm: no partition {partition!r}; the cluster has "
                f"{', '.join(names) or 'none'}"
            )
        if names[partition] != "up":
            raise SchedulerError(
                f"--scheduler slurm: partition {partition!r} is {names[partition]}"
            )
        return Scheduler("slurm", partition, self.memory_gb)


def jobs_of(run: str) -> list[str]:
    """The IDs of the cluster's jobs that belong to ``run`` (empty where no controller
    answers)."""
    if shutil.which("squeue") is None:
        return []
    try:
        found = _ask(["squeue", "--noheader", "--format", "%i %k"])
    except subprocess.TimeoutExpired:
        return []
    jobs = []
    for line in found.stdout.splitlines() if found.returncode == 0 else []:
        job, _, comment = line.strip().partition(" ")
        if comment.startswith(_TAG) and run in comment.removeprefix(_TAG).split(","):
            jobs.append(job)
    return jobs


def cancel_jobs_of(run: str) -> list[str]:
    """Cancel every job of ``run`` by its ID, through the cluster (stopping the ``srun`` that
    waits for a job is not enough where it was killed outright); the IDs cancelled."""
    jobs = jobs_of(run)
    if jobs and shutil.which("scancel"):
        subprocess.run(["scancel", *jobs], capture_output=True, timeout=_TIMEOUT_S, check=False)
    return jobs


def _ask(command: list[str]) -> subprocess.CompletedProcess[str]:
    """The output of a Slurm query, waiting at most ``_TIMEOUT_S`` for the controller."""
    return subprocess.run(command, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False)
