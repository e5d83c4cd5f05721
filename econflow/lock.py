"""One run per build folder: an advisory lock (``fcntl.flock``) on ``<build>/.econflow.lock``.

The kernel releases the lock when its process ends, however it ends, so a lock file left by a
killed run is never mistaken for a live one; the file records the owner (PID, start time,
command line) for the message a second run prints, and for the warning when a run finds the
record of one that ended without cleaning up. Each run puts a fresh id in the environment
(``ECONFLOW_RUN``), which every program it starts inherits: after a SIGKILL, the next run
finds the processes the dead one left, by that id or (for those it forked, which share its
open lock file and keep the lock held) by its command line and start time, and stops them
before it starts. A stage folder linked from another build folder (the models a sweep's
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
        stopped = 0
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
            stopped += _stop_orphans(previous)
            left = f"; stopped {stopped} of its processes still running" if stopped else ""
            print(f"warning: {build}: {_describe(previous)} ended without releasing it{left}")
        run = uuid.uuid4().hex
        handle.seek(0)
        handle.truncate()
        record = {"pid": os.getpid(), "started": time.time(), "command": sys.orig_argv, "run": run}
        handle.write(json.dumps(record))
        handle.flush()
        saved = os.environ.get(RUN_VARIABLE)
        os.environ[RUN_VARIABLE] = run  # inherited by every process the run starts
        try:
            with _linked_stage_locks(build):
                yield
        finally:
            if saved is None:
                os.environ.pop(RUN_VARIABLE, None)
            else:
                os.environ[RUN_VARIABLE] = saved
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


def _stop_orphans(record: str) -> int:
    """Stop the processes a killed run left behind: those it started with a new program
    (simulators, KLayout, qrouter) carry its run id in their environment; those it forked
    (SiliconCompiler's manager and nodes) have its command line and started after it took
    the lock. Their own children go with them."""
    try:
        doc = json.loads(record)
        run, command, started = doc["run"], doc["command"], float(doc["started"])
    except (ValueError, KeyError, TypeError):
        return 0
    found = processes.with_environment(RUN_VARIABLE, run)
    found += processes.with_command(command, started)
    return processes.stop(processes.with_children(found))


def _describe(record: str) -> str:
    """``run <pid> (<command>, started <time>)`` from a lock file's record."""
    try:
        doc = json.loads(record)
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(doc["started"]))
        command = " ".join(" ".join(doc["command"]).split())
        return f"run {doc['pid']} ({command}, started {started})"
    except (ValueError, KeyError, TypeError):
        return "an earlier run"
