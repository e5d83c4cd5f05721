"""Provenance checked, not assumed: on three small steps (``make`` writes a file, ``use``
reads it, ``look`` reads ``make``'s figures) and a report that shows what holds."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import ClassVar

import pytest

from econflow.config import Config, load_config
from econflow.errors import ArtefactError
from econflow.provenance import Verdict
from econflow.results import StageMetrics, StepResult
from econflow.runner import Runner
from econflow.stage import Step

TINY = Path(__file__).parent / "configs" / "tiny.yaml"


class Value(StepResult):
    value: str


class FirstMetrics(StageMetrics):
    STAGE: ClassVar[str] = "first"
    make: Value | None = None


class SecondMetrics(StageMetrics):
    STAGE: ClassVar[str] = "second"
    use: Value | None = None
    look: Value | None = None
    show: Value | None = None


def _file(name: str):
    return lambda _cfg, build: [build / name]


def _make(cfg: Config, build: Path) -> Value:
    if (build / "fail").exists():
        raise ArtefactError(build / "fail", "asked to fail")
    value = f"{cfg.design.hardware.clock_mhz:g}"
    (build / "first").mkdir(exist_ok=True)
    (build / "first" / "made.txt").write_text(value)
    return Value(value=value)


def _use(_cfg: Config, build: Path) -> Value:
    value = (build / "first" / "made.txt").read_text()
    (build / "second").mkdir(exist_ok=True)
    (build / "second" / "used.txt").write_text(value)
    return Value(value=value)


def _look(_cfg: Config, build: Path) -> Value:
    made = FirstMetrics.read(build).make
    assert made is not None
    return Value(value=made.value)


def _show(_cfg: Config, _build: Path, verdict: Verdict) -> Value:
    return Value(value=",".join(sorted(s.step for s in verdict.hidden)))


STEPS = {
    "make": Step("make", FirstMetrics, "make", ("hardware",), lambda c, b: [],
                 _file("first/made.txt"), _make),
    "use": Step("use", SecondMetrics, "use", (), _file("first/made.txt"),
                _file("second/used.txt"), _use),
    "look": Step("look", SecondMetrics, "look", (), lambda c, b: [], lambda c, b: [], _look,
                 reads=("make",)),
    "show": Step("show", SecondMetrics, "show", (), _file("first/metrics.json"),
                 lambda c, b: [], _show, shows_all=True),
}  # fmt: skip
ALL = list(STEPS)


def _runner(build: Path, clock: float = 40.0) -> Runner:
    cfg = load_config(TINY)
    hardware = cfg.design.hardware.model_copy(update={"clock_mhz": clock})
    design = cfg.design.model_copy(update={"hardware": hardware})
    runner = Runner(cfg.model_copy(update={"design": design}), build)
    runner.steps = STEPS
    return runner


def _statuses(runner: Runner) -> dict[str, str]:
    return {n: "ran" if s.holds else "stale" for n, s in runner.provenance.statuses().items()}


@pytest.fixture
def built(tmp_path: Path) -> Path:
    build = tmp_path / "build"
    assert [r.status for r in _runner(build).run(ALL)] == ["ran"] * 4
    return build


def test_an_unchanged_build_is_skipped_even_when_copied(built, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(built, copy)  # new modification times, same contents
    assert [r.status for r in _runner(copy).run(ALL)] == ["skipped"] * 4


def test_a_failed_step_takes_the_records_after_it_and_its_consumers_refuse(built):
    (built / "fail").touch()
    with pytest.raises(ArtefactError, match="asked to fail"):
        _runner(built).run(["make"], force=True)
    runner = _runner(built)
    assert _statuses(runner) == {"make": "stale", "use": "stale", "look": "stale", "show": "stale"}
    for name in ("use", "look"):
        assert runner.provenance.record(name) is None
    with pytest.raises(ArtefactError, match=r"made.txt: written by step 'make', which has no"):
        runner.run(["use"])
    with pytest.raises(ArtefactError, match=r"metrics.json: holds the figures of step 'make'"):
        runner.run(["look"])
    assert [r.status for r in runner.run(["show"])] == ["ran"]  # it hides what does not hold
    shown = SecondMetrics.read(built).show
    assert shown is not None and shown.value == "look,make,use"


def test_a_changed_design_file_makes_the_results_after_it_stale(built):
    runner = _runner(built, clock=100.0)
    with pytest.raises(ArtefactError, match="which ran with another 'hardware' section"):
        runner.run(["use"])
    assert _statuses(runner) == {"make": "stale", "use": "stale", "look": "stale", "show": "stale"}
    reports = runner.run(ALL)
    assert [r.status for r in reports] == ["ran"] * 4
    assert (built / "second" / "used.txt").read_text() == "100"


def test_a_hand_edited_artefact_is_refused_until_accepted(built, capsys):
    made = built / "first" / "made.txt"
    made.write_text("41")
    runner = _runner(built)
    with pytest.raises(ArtefactError, match=r"made.txt: differs from what step 'make' wrote"):
        runner.run(["use"])
    with pytest.raises(ArtefactError, match=r"--accept-edit .*made.txt, or overwrite it"):
        runner.run(["make"])  # the step itself would overwrite the edit
    reports = runner.run(ALL, accept=[made])
    assert [r.status for r in reports] == ["skipped", "ran", "skipped", "ran"]
    assert "accepted the edit of" in capsys.readouterr().out
    assert (built / "second" / "used.txt").read_text() == "41"
    assert list(runner.provenance.edits()) == ["first/made.txt"]
    assert [r.status for r in runner.run(["make"], force=True)] == ["ran"]
    assert runner.provenance.edits() == {}  # the step wrote it again: no edit to tell


def test_a_deleted_output_reruns_its_step_and_a_foreign_file_is_not_accepted(built, tmp_path):
    (built / "first" / "made.txt").unlink()
    runner = _runner(built)
    assert [r.status for r in runner.run(ALL)] == ["ran", "skipped", "skipped", "skipped"]
    stray = tmp_path / "stray.txt"
    stray.write_text("x")
    with pytest.raises(ArtefactError, match="not a file a flow step writes"):
        runner.run(["use"], accept=[stray])


def test_an_interrupted_step_leaves_no_record(built, monkeypatch):
    def interrupted(_cfg, _build):
        raise KeyboardInterrupt

    steps = {**STEPS, "make": Step("make", FirstMetrics, "make", ("hardware",),
                                   lambda c, b: [], _file("first/made.txt"), interrupted)}  # fmt: skip
    runner = _runner(built)
    runner.steps = steps
    with pytest.raises(KeyboardInterrupt):
        runner.run(["make"], force=True)
    assert runner.provenance.record("make") is None and runner.provenance.record("use") is None
