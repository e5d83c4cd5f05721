"""The runner's order of work: a step marked ``beside`` overlaps the rest of its stage."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import ClassVar

import pytest

from econflow import tools
from econflow.config import load_config
from econflow.errors import EconflowError
from econflow.lock import LOCK_FILE, BuildLockedError, build_lock
from econflow.results import StageMetrics, StepResult
from econflow.runner import Runner
from econflow.stage import Step

TINY = Path(__file__).parent / "configs" / "tiny.yaml"


class Done(StepResult):
    thread: str


class FirstMetrics(StageMetrics):
    STAGE: ClassVar[str] = "first"
    slow: Done | None = None
    quick: Done | None = None


class SecondMetrics(StageMetrics):
    STAGE: ClassVar[str] = "second"
    last: Done | None = None


def _steps(events: list[str], slow_work) -> dict[str, Step]:
    def record(name: str):
        def run(_cfg, _build):
            events.append(f"{name} start")
            if name == "slow":
                slow_work()
            events.append(f"{name} end")
            return Done(thread=threading.current_thread().name)

        return run

    def step(name, metrics, beside=False):
        return Step(name, metrics, name, (), lambda c, b: [], lambda c, b: [], record(name), beside)

    return {
        "slow": step("slow", FirstMetrics, beside=True),
        "quick": step("quick", FirstMetrics),
        "last": step("last", SecondMetrics),
    }


def _runner(tmp_path: Path, steps: dict[str, Step]) -> Runner:
    runner = Runner(load_config(TINY), tmp_path)
    runner.steps = steps
    return runner


def test_a_step_beside_overlaps_its_stage_and_is_joined_before_the_next(tmp_path, capsys):
    events: list[str] = []
    quick_done = threading.Event()
    steps = _steps(events, lambda: quick_done.wait(10))
    original = steps["quick"].run

    def quick(cfg, build):
        result = original(cfg, build)
        quick_done.set()
        return result

    steps["quick"] = Step("quick", FirstMetrics, "quick", (), *[lambda c, b: []] * 2, quick)
    reports = _runner(tmp_path, steps).run(["slow", "quick", "last"])
    # quick ran and ended while slow was still running; last waited for slow
    assert events.index("quick end") < events.index("slow end") < events.index("last start")
    assert [r.name for r in reports] == ["quick", "slow", "last"]
    figures = FirstMetrics.read(tmp_path)
    assert figures.slow.thread.startswith("beside") and figures.quick.thread == "MainThread"
    assert figures.slow.runtime_s is not None and SecondMetrics.read(tmp_path).last is not None
    assert "slow: running beside" in capsys.readouterr().out
    # nothing changed: all three skip, the one beside too
    reports = _runner(tmp_path, steps).run(["slow", "quick", "last"])
    assert {r.status for r in reports} == {"skipped"}


def test_a_forced_run_replaces_figures_an_older_econflow_wrote_in_another_form(tmp_path):
    events: list[str] = []
    steps = _steps(events, lambda: None)

    def outputs(_cfg, build):
        FirstMetrics.read(build)  # what the step makes depends on the figures before it
        return []

    steps["quick"] = dataclasses.replace(steps["quick"], outputs=outputs)
    _runner(tmp_path, steps).run(["slow", "quick"])
    path = FirstMetrics.path(tmp_path)
    path.write_text(path.read_text().replace('"thread"', '"thread_name"'))  # a renamed field
    with pytest.raises(EconflowError, match=r"slow.thread: Field required .*rerun with --force\)$"):
        _runner(tmp_path, steps).run(["slow", "quick"])
    _runner(tmp_path, steps).run(["slow", "quick"], force=True)
    assert FirstMetrics.read(tmp_path).slow is not None
    path.write_text("not json")
    _runner(tmp_path, steps).run(["slow", "quick"], force=True)
    assert FirstMetrics.read(tmp_path).quick is not None


def test_a_step_beside_alone_in_its_stage_runs_in_order(tmp_path):
    events: list[str] = []
    reports = _runner(tmp_path, _steps(events, lambda: None)).run(["slow", "last"])
    assert events == ["slow start", "slow end", "last start", "last end"]
    assert FirstMetrics.read(tmp_path).slow.thread == "MainThread"
    assert [r.name for r in reports] == ["slow", "last"]


def test_a_failing_step_stops_the_tools_of_the_step_beside(tmp_path, capsys):
    events: list[str] = []
    log = tmp_path / "sleep.log"

    def sleep():
        tools.run(["sleep", "60"], log, "sleep")

    steps = _steps(events, sleep)

    def fail(_cfg, _build):
        while not tools._RUNNING:
            time.sleep(0.01)
        raise EconflowError("quick failed")

    steps["quick"] = Step("quick", FirstMetrics, "quick", (), *[lambda c, b: []] * 2, fail)
    start = time.monotonic()
    with pytest.raises(EconflowError, match="quick failed"):
        _runner(tmp_path, steps).run(["slow", "quick", "last"])
    assert time.monotonic() - start < 30 and not tools._RUNNING
    assert "stopping the steps running beside" in capsys.readouterr().out
    assert FirstMetrics.read(tmp_path).slow is None


def test_a_second_run_on_a_build_folder_in_use_is_one_line(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from econflow.lock import build_lock\n"
            "with build_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        events: list[str] = []
        with pytest.raises(BuildLockedError, match=rf"in use by run {holder.pid} \(.*sleep"):
            _runner(tmp_path, _steps(events, lambda: None)).run(["quick"])
        assert events == []
    finally:
        holder.kill()
        holder.wait()
    # killed: the kernel released the lock; the next run takes it and says who left it
    events = []
    _runner(tmp_path, _steps(events, lambda: None)).run(["quick"])
    assert events == ["quick start", "quick end"]


def test_the_record_of_a_killed_run_is_a_warning(tmp_path, capsys):
    (tmp_path / LOCK_FILE).write_text('{"pid": 1234, "started": 0, "command": ["sc", "x"]}')
    with build_lock(tmp_path):
        pass
    assert "run 1234 (sc x, started 1970" in capsys.readouterr().out
    assert (tmp_path / LOCK_FILE).read_text() == ""


def test_the_next_run_stops_what_a_killed_run_left(tmp_path, capsys):
    import psutil

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time; from pathlib import Path\n"
            "from econflow.lock import build_lock\n"
            "with build_lock(Path(sys.argv[1])):\n"
            "    print(subprocess.Popen(['sleep', '60']).pid, flush=True); time.sleep(60)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    orphan = psutil.Process(int(holder.stdout.readline()))
    holder.kill()
    holder.wait()
    assert orphan.is_running()  # SIGKILL leaves the run's children behind
    with build_lock(tmp_path):
        pass
    assert "stopped 1 of its processes still running" in capsys.readouterr().out
    assert not orphan.is_running() or orphan.status() == psutil.STATUS_ZOMBIE


FORKING_RUN = """
import os, sys, time
from pathlib import Path
from econflow.lock import build_lock
with build_lock(Path(sys.argv[1])):
    child = os.fork()  # as SiliconCompiler starts its manager and nodes: the lock file is shared
    if child == 0:
        time.sleep(60)
        os._exit(0)
    print(child, flush=True)
    time.sleep(60)
"""


def test_forked_children_of_a_killed_run_are_stopped_to_free_the_lock(tmp_path, capsys):
    import psutil

    holder = subprocess.Popen(
        [sys.executable, "-c", FORKING_RUN, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    forked = psutil.Process(int(holder.stdout.readline()))
    holder.kill()
    holder.wait()
    assert forked.is_running()  # it holds the lock now
    with build_lock(tmp_path):
        pass
    assert "stopped 1 of its processes still running" in capsys.readouterr().out
    assert not forked.is_running() or forked.status() == psutil.STATUS_ZOMBIE
