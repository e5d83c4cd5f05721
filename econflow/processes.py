"""Stopping the processes a run started: on Ctrl-C or SIGTERM (its descendants) and after a
SIGKILL (the orphans the next run finds by their run id or command line, :mod:`econflow.lock`)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import psutil


def stop(processes: list[psutil.Process], grace_s: float = 5.0) -> int:
    """Terminate ``processes``, kill those still alive after ``grace_s``; returns how many."""
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.terminate()
    _, alive = psutil.wait_procs(processes, timeout=grace_s)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()
    return len(processes)


def descendants() -> list[psutil.Process]:
    """Every process this one started, directly or not."""
    return psutil.Process().children(recursive=True)


def with_environment(name: str, value: str) -> list[psutil.Process]:
    """Processes (other than this one and its ancestors) whose environment sets ``name`` to
    ``value``."""
    return _others(lambda p: p.environ().get(name) == value)


def with_command(command: list[str], since: float) -> list[psutil.Process]:
    """Processes (other than this one and its ancestors) running ``command`` that started at
    or after ``since`` (seconds since the epoch): the forked children of a run."""
    return _others(lambda p: p.create_time() >= since - 1 and p.cmdline() == command)


def _others(match: Callable[[psutil.Process], bool]) -> list[psutil.Process]:
    """The processes, other than this one and its ancestors, that ``match`` (those that end
    or cannot be inspected while it looks are left out)."""
    mine = {p.pid for p in [psutil.Process(), *psutil.Process().parents()]}
    found = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if process.pid not in mine and match(process):
                found.append(process)
    return found


def with_children(found: list[psutil.Process]) -> list[psutil.Process]:
    """``found`` and every process they started, each once."""
    every = {p.pid: p for p in found}
    for process in found:
        with contextlib.suppress(psutil.Error):
            every.update({c.pid: c for c in process.children(recursive=True)})
    return list(every.values())
