"""Where heavy work runs: on this machine, or as jobs of a Slurm cluster.

With Slurm, SiliconCompiler sends each flow node as a job of its own (its scheduler:
``option,scheduler,name`` ``slurm``, one blocking ``srun`` per node), and ``sc sweep`` runs
each model group's steps as one ``srun`` job. Both assume what SiliconCompiler assumes: the
build folder lies on a filesystem every node shares at the same path, and every node has the
same tools and Python environment (the jobs inherit this process's environment, the venv's
``bin`` first on ``PATH``). The choice travels to the processes a run starts in environment
variables (``ECONFLOW_SCHEDULER``, ``ECONFLOW_SLURM_PARTITION``, ``ECONFLOW_SLURM_MEM_GB``),
so a sweep's variants and their SiliconCompiler nodes all see it.
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
        """Options of every job beyond the partition."""
        return [f"--mem={round(self.memory_gb * 1024)}M"] if self.memory_gb else []

    def srun(self, job_name: str, command: list[str]) -> list[str]:
        """``command`` as a blocking Slurm job (unchanged for the local scheduler)."""
        if self.name == "local":
            return command
        prefix = ["srun", "--partition", str(self.partition), "--job-name", job_name]
        return [*prefix, *self.options, "--chdir", os.getcwd(), *command]

    def cancel(self, job_names: list[str]) -> None:
        """Cancel jobs by name, through the cluster (stopping the ``srun`` that waits for a
        job is not enough where it was killed outright)."""
        if self.name == "slurm" and job_names and shutil.which("scancel"):
            for name in job_names:
                subprocess.run(
                    ["scancel", "--name", name],
                    capture_output=True,
                    timeout=_TIMEOUT_S,
                    check=False,
                )

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
            found = subprocess.run(
                ["sinfo", "--noheader", "--format", "%P %a"],
                capture_output=True,
                text=True,
                timeout=_TIMEOUT_S,
                check=False,
            )
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
