"""A single-node Slurm cluster on this machine, for the tests and the sweep benchmark.

Debian's Slurm 22.05 and MUNGE, started by hand (no systemd) with everything (key, sockets,
state, logs) in one folder: ``proctrack/linuxproc`` and ``task/none`` (no cgroups, so no
``cgroup.conf``: Debian's Slurm rejects ``CgroupPlugin=disabled`` and the node goes down),
``jobcomp/filetxt`` instead of accounting: ``jobs()`` reads that job log. Needs root.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

DAEMONS = ("munged", "slurmctld", "slurmd")
PARTITION = "econflow"


def missing() -> str | None:
    """Why a cluster cannot start here, or None."""
    if os.geteuid() != 0:
        return "a Slurm cluster is started as root (slurmd runs jobs as any user)"
    absent = [d for d in (*DAEMONS, "srun", "sinfo") if shutil.which(d) is None]
    if absent:
        return f"not installed: {', '.join(absent)} (./bootstrap.sh installs them as root)"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Cluster:
    folder: Path

    @property
    def conf(self) -> Path:
        return self.folder / "slurm.conf"

    @property
    def environment(self) -> dict[str, str]:
        return {"SLURM_CONF": str(self.conf)}

    def start(self) -> Cluster:
        munge = self.folder / "munge"
        munge.mkdir(parents=True, mode=0o700)
        os.chmod(self.folder, 0o755)
        key = munge / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        socket_path = munge / "munge.socket"
        subprocess.run(
            ["munged", "--force", f"--socket={socket_path}", f"--key-file={key}"]
            + [f"--{kind}-file={munge / f'munged.{kind}'}" for kind in ("log", "pid", "seed")],
            check=True,
        )
        self._write_conf(socket_path)
        for daemon in ("slurmctld", "slurmd"):
            subprocess.run([daemon, "-f", str(self.conf)], check=True, env=self._env())
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            found = subprocess.run(
                ["sinfo", "--noheader", "--format", "%t"],
                capture_output=True,
                text=True,
                env=self._env(),
                check=False,
            )
            if found.stdout.strip() == "idle":
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the test Slurm node did not come up; logs in {self.folder}")

    def _env(self) -> dict[str, str]:
        return {**os.environ, **self.environment}

    def _write_conf(self, munge_socket: Path) -> None:
        host = socket.gethostname().split(".")[0]
        memory_mb = int(psutil.virtual_memory().total / 2**20 * 0.9)
        d = self.folder
        settings = {
            "ClusterName": "econflow-test",
            "SlurmctldHost": host,
            "SlurmUser": "root",
            "SlurmdUser": "root",
            "AuthType": "auth/munge",
            "AuthInfo": f"socket={munge_socket}",
            "CredType": "cred/munge",
            "StateSaveLocation": d / "state",
            "SlurmdSpoolDir": d / "spool",
            "SlurmctldPidFile": d / "slurmctld.pid",
            "SlurmdPidFile": d / "slurmd.pid",
            "SlurmctldPort": _free_port(),
            "SlurmdPort": _free_port(),
            "SlurmctldLogFile": d / "slurmctld.log",
            "SlurmdLogFile": d / "slurmd.log",
            "ProctrackType": "proctrack/linuxproc",
            "TaskPlugin": "task/none",
            "JobCompType": "jobcomp/filetxt",
            "JobCompLoc": d / "jobs.log",
            "SchedulerType": "sched/builtin",
            "SelectType": "select/cons_tres",
            "SelectTypeParameters": "CR_Core_Memory",
            "ReturnToService": 2,
            "MpiDefault": "none",
        }
        lines = [f"{key}={value}" for key, value in settings.items()]
        lines.append(f"NodeName={host} CPUs={os.cpu_count()} RealMemory={memory_mb} State=UNKNOWN")
        lines.append(
            f"PartitionName={PARTITION} Nodes={host} Default=YES MaxTime=INFINITE State=UP"
        )
        self.conf.write_text("\n".join(lines) + "\n")

    def jobs(self) -> list[dict[str, str]]:
        """The finished jobs, from the job log (``Name``, ``JobState``, ``Tres``, ...)."""
        log = self.folder / "jobs.log"
        if not log.is_file():
            return []
        return [
            dict(field.split("=", 1) for field in line.split() if "=" in field)
            for line in log.read_text().splitlines()
        ]

    def stop(self) -> None:
        """Stop the daemons this cluster started (by their PID files)."""
        for pid_file in ("slurmd.pid", "slurmctld.pid", "munge/munged.pid"):
            path = self.folder / pid_file
            try:
                pid = int(path.read_text().split()[0])
                os.kill(pid, signal.SIGTERM)
            except (OSError, ValueError, IndexError):
                continue
            try:
                psutil.Process(pid).wait(10)
            except (psutil.Error, psutil.TimeoutExpired):
                os.kill(pid, signal.SIGKILL)
