"""One run per build folder: an advisory lock (``fcntl.flock``) on ``<build>/.econflow.lock``.

The kernel releases the lock when its process ends, however it ends, so a lock file left by a
killed run is never mistaken for a live one; the file records the owner (PID, start time,
command line) for the message a second run prints, and for the warning when a run finds the
record of one that ended without cleaning up. Each run puts a fresh id in the environment
(``ECONFLOW_RUN``), which every process it starts inherits: after a SIGKILL, the next run
finds the processes the dead one left by that id and stops them before it starts.
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
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildLockedError(
                f"{build}: in use by {_owner(path)}; wait for it or stop it"
            ) from None
        handle.seek(0)
        previous = handle.read().strip()
        if previous:
            stopped = _stop_orphans(previous)
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


def _stop_orphans(record: str) -> int:
    """Stop the processes a killed run left behind (SiliconCompiler's nodes, simulators,
    KLayout): those whose environment carries its run id."""
    try:
        run = json.loads(record)["run"]
    except (ValueError, KeyError, TypeError):
        return 0
    return processes.stop(processes.with_environment(RUN_VARIABLE, run))


def _owner(path: Path) -> str:
    try:
        return _describe(path.read_text().strip())
    except OSError:
        return "another run"


def _describe(record: str) -> str:
    """``run <pid> (<command>, started <time>)`` from a lock file's record."""
    try:
        doc = json.loads(record)
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(doc["started"]))
        command = " ".join(" ".join(doc["command"]).split())
        return f"run {doc['pid']} ({command}, started {started})"
    except (ValueError, KeyError, TypeError):
        return "an earlier run"
