"""One run per build folder: an advisory lock (``fcntl.flock``) on ``<build>/.econflow.lock``.

The kernel releases the lock when its process ends, however it ends, so a lock file left by a
killed run is never mistaken for a live one; the file records the owner (PID, start time,
command line) for the message a second run prints, and for the warning when a run finds the
record of one that ended without cleaning up. Each run puts a fresh id in the environment
(``ECONFLOW_RUN``), which every program it starts inherits: after a SIGKILL, the next run
finds the processes the dead one left, by that id or (for those it forked, which share its
open lock file and keep the lock held) by its command line and start time, and stops them
before it starts; the Slurm jobs it submitted (``econflow.scheduler``) are cancelled by their
IDs, found through the cluster by the run id, then and whenever a run ends on an exception or
an interruption. A stage folder linked from another build folder (the models a sweep's
variants share) is read under a shared lock on that folder, which its own runs take
exclusively.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import psutil

from econflow import processes
from econflow.errors import EconflowError
from econflow.scheduler import RUNS_VARIABLE, Scheduler, cancel_jobs_of

LOCK_FILE = ".econflow.lock"
RUN_VARIABLE = "ECONFLOW_RUN"  # the run id, in the environment of everything a run starts


class BuildLockedError(EconflowError):
    """Another run holds the build folder."""


@contextlib.contextmanager
def build_lock(build: Path) -> Iterator[None]:
    """Hold the build folder's lock for the duration of the block.

    Raises:
        BuildLockedError: another process holds it (the message names its PID and command).
    """
    build.mkdir(parents=True, exist_ok=True)
    path = build / LOCK_FILE
    with path.open("a+") as handle:
        stopped: tuple[int, set[str]] = (0, set())
        if not _take(handle):
            # Held: by a live run, or by the processes a killed run forked (they share its
            # open lock file), which are stopped so that the lock comes free.
            handle.seek(0)
            holder = handle.read().strip()
            if _owner_alive(holder):
                owner = _describe(holder) if holder else "another run (or sweep variants)"
                raise BuildLockedError(f"{build}: in use by {owner}; wait for it or stop it")
            stopped = _stop_orphans(holder)
            if not _take(handle, wait_s=10.0):
                raise BuildLockedError(
                    f"{build}: held by processes of {_describe(holder)}, which ended; they "
                    "could not be stopped"
                )
        handle.seek(0)
        previous = handle.read().strip()
        if previous:
            more = _stop_orphans(previous)
            stopped = (stopped[0] + more[0], stopped[1] | more[1])
            ended = f"{_describe(previous)} ended without releasing it"
            print(f"warning: {build}: {ended}{_left(*stopped)}")
        run = uuid.uuid4().hex
        scheduler = Scheduler.from_environment().name
        handle.seek(0)
        handle.truncate()
        record = {
            "pid": os.getpid(),
            "started": time.time(),
            "command": sys.orig_argv,
            "run": run,
            "scheduler": scheduler,
        }
        handle.write(json.dumps(record))
        handle.flush()
        saved = {name: os.environ.get(name) for name in (RUN_VARIABLE, RUNS_VARIABLE)}
        # Inherited by every process the run starts; RUNS_VARIABLE also names the runs that
        # started this one (a sweep), whose ids its cluster jobs carry too.
        os.environ[RUN_VARIABLE] = run
        os.environ[RUNS_VARIABLE] = ",".join(filter(None, [saved[RUNS_VARIABLE], run]))
        try:
            with _linked_stage_locks(build):
                yield
        except BaseException:
            cancelled = cancel_jobs_of(run) if scheduler == "slurm" else []
            if cancelled:
                print(f"cancelled Slurm job(s) {', '.join(cancelled)} of this run", flush=True)
            raise
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _linked_stage_locks(build: Path) -> Iterator[None]:
    """A shared lock on the build folder of each stage folder linked into this one (the
    models a sweep's variants share): a run of that folder takes its lock exclusively, so
    it cannot rewrite the stage while variants read it, nor start while they do."""
    with contextlib.ExitStack() as stack:
        for folder in sorted(build.iterdir()):
            if not (folder.is_symlink() and folder.is_dir()):
                continue
            owner = folder.resolve().parent
            handle = stack.enter_context((owner / LOCK_FILE).open("a+"))
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                raise BuildLockedError(
                    f"{folder}: links to {owner}, in use by {_describe(handle.read().strip())}; "
                    "wait for it or stop it"
                ) from None
        yield


def _take(handle: IO[str], wait_s: float = 0.0) -> bool:
    """Take the lock, trying for up to ``wait_s``; whether it was taken."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)


def _owner_alive(record: str) -> bool:
    """Whether the run a record names still runs: its PID exists, with the recorded command
    line, started before it took the lock (a PID reused since does not count). A record not
    written yet, or unreadable, counts as alive."""
    try:
        doc = json.loads(record)
        process = psutil.Process(doc["pid"])
        return process.create_time() <= doc["started"] + 1 and process.cmdline() == doc["command"]
    except psutil.NoSuchProcess:
        return False
    except (ValueError, KeyError, TypeError, psutil.Error):
        return True


def _stop_orphans(record: str) -> tuple[int, set[str]]:
    """Stop what a killed run left behind: its Slurm jobs (by their IDs), and its processes
    here. Those it started with a new program (simulators, KLayout, qrouter) carry its run id
    in their environment; those it forked (SiliconCompiler's manager and nodes) have its
    command line and started after it took the lock. Their own children go with them.
    Returns how many processes were stopped and the IDs of the jobs cancelled."""
    try:
        doc = json.loads(record)
        run, command, started = doc["run"], doc["command"], float(doc["started"])
    except (ValueError, KeyError, TypeError):
        return 0, set()
    jobs = set(cancel_jobs_of(run)) if doc.get("scheduler") == "slurm" else set()
    found = processes.with_environment(RUN_VARIABLE, run)
    found += processes.with_command(command, started)
    return processes.stop(processes.with_children(found)), jobs


def _left(stopped: int, jobs: set[str]) -> str:
    """What the cleaning-up after a killed run did, for its warning."""
    done = [f"stopped {stopped} of its processes still running"] if stopped else []
    if jobs:
        done.append(
            f"cancelled its Slurm job(s) {', '.join(sorted(jobs, key=lambda job: (len(job), job)))}"
        )
    return "".join(f"; {part}" for part in done)


def _describe(record: str) -> str:
    """``run <pid> (<command>, started <time>)`` from a lock file's record."""
    try:
        doc = json.loads(record)
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(doc["started"]))
        command = " ".join(" ".join(doc["command"]).split())
        return f"run {doc['pid']} ({command}, started {started})"
    except (ValueError, KeyError, TypeError):
        return "an earlier run"
