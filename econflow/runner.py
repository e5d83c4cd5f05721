"""Runs flow steps in order, skipping a step whose configuration and inputs are unchanged;
a step marked ``beside`` runs in a thread while the rest of its stage goes on.

Each stage directory (``<build-dir>/models``, ``<build-dir>/hls``, ...) holds
``manifest.json``, the steps' records (``econflow.provenance``), and ``metrics.json``, one
section per step. A step runs only where the steps it depends on hold for the design file; a
failed or interrupted step takes its record and those of the steps after it that depend on it.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from econflow import tools
from econflow.config import STEPS, Config
from econflow.errors import ArtefactError, ConfigError
from econflow.flow.layout import STEPS as LAYOUT_STEPS
from econflow.flow.pipeline import STEPS as FLOW_STEPS
from econflow.hls.pipeline import STEPS as HLS_STEPS
from econflow.lock import build_lock
from econflow.models.pipeline import STEPS as MODEL_STEPS
from econflow.provenance import Provenance, edited_error
from econflow.reports.pipeline import STEPS as REPORT_STEPS
from econflow.results import StageMetrics, StepResult
from econflow.rtl.pipeline import STEPS as RTL_STEPS
from econflow.stage import Step
from econflow.verification.pipeline import STEPS as VERIFY_STEPS


@dataclass
class StepReport:
    name: str
    status: str  # "ran" or "skipped"
    seconds: float
    outputs: list[Path] = field(default_factory=list)


def all_steps() -> dict[str, Step]:
    """Every step of every stage, in the order ``econflow.config.STEPS`` declares."""
    stages = (
        MODEL_STEPS,
        HLS_STEPS,
        RTL_STEPS,
        VERIFY_STEPS,
        FLOW_STEPS,
        LAYOUT_STEPS,
        REPORT_STEPS,
    )
    found = {step.name: step for steps in stages for step in steps}
    if set(found) != set(STEPS):
        raise RuntimeError(f"stages define steps {sorted(found)}, the design file {STEPS}")
    return {name: found[name] for name in STEPS}


def in_flow_order(path: Path, key: str, steps: list[str]) -> list[str]:
    """``steps`` in flow order; an unknown one is an error naming ``path`` and ``key``."""
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise ConfigError(
            path,
            key,
            f"unknown step(s) {', '.join(map(repr, unknown))}; expected one of {', '.join(STEPS)}",
        )
    return [s for s in STEPS if s in steps]


def select_steps(cfg: Config, steps: list[str] | None, start: str | None) -> list[str]:
    """The steps to run: ``steps`` if given, else the design's, from ``start`` on."""
    chosen = steps if steps is not None else list(cfg.design.flow.steps)
    in_flow_order(cfg.path, "--steps/--from", [start] if start else [])
    ordered = in_flow_order(cfg.path, "--steps/--from", chosen)
    if start is not None:
        ordered = [s for s in ordered if STEPS.index(s) >= STEPS.index(start)]
    if not ordered:
        raise ConfigError(
            cfg.path,
            "--steps/--from",
            f"selects no step (steps {','.join(chosen) or 'none'}, from {start or 'the first'})",
        )
    return ordered


class Runner:
    """Runs the steps of one design into one build directory."""

    def __init__(self, cfg: Config, build_dir: Path) -> None:
        self.cfg = cfg
        self.build_dir = build_dir
        self.steps = all_steps()
        self._lock = threading.Lock()  # manifests and metrics, shared with steps run beside
        self._provenance: Provenance | None = None

    def _record(self, step: Step, result: StepResult) -> None:
        """Write the step's result into its stage's metrics; a file another econflow wrote is
        started afresh (its steps rerun: their sections are gone)."""
        try:
            metrics = step.metrics.read(self.build_dir)
        except ArtefactError as exc:
            print(f"  {exc}: starting it afresh", flush=True)
            metrics = step.metrics()
        metrics.with_section(step.section, result).write(self.build_dir)

    def stage_metrics(self, names: list[str]) -> list[type[StageMetrics]]:
        """The metrics files of the stages the named steps belong to."""
        return list(dict.fromkeys(self.steps[name].metrics for name in names))

    @property
    def provenance(self) -> Provenance:
        """The build folder's records, for this runner's steps."""
        if self._provenance is None or self._provenance.steps is not self.steps:
            self._provenance = Provenance(self.cfg, self.build_dir, self.steps)
        return self._provenance

    def run(
        self, names: list[str], force: bool = False, accept: list[Path] | None = None
    ) -> list[StepReport]:
        """Run ``names`` in order, holding the build folder's lock; a step ``beside`` runs in
        the background until a step of another stage (or the end) needs the cores or its
        figures. ``accept`` lists hand-edited artefacts to take as they are."""
        self._check_writable()
        reports: list[StepReport] = []
        background: list[tuple[Step, Future[StepReport]]] = []
        with build_lock(self.build_dir), ThreadPoolExecutor(1, "beside") as pool:
            if force:
                for step in (self.steps[n] for n in names):
                    step.metrics.drop_unreadable(self.build_dir, (step.section, *step.sections))
            for path in accept or []:
                name = self.provenance.accept_edit(path)
                print(f"accepted the edit of {path} (written by step '{name}')", flush=True)
            try:
                for index, name in enumerate(names, start=1):
                    step = self.steps[name]
                    if any(b.stage != step.stage for b, _ in background):
                        reports.extend(self._join(background))
                    tag = f"[{index}/{len(names)}] {name}"
                    later = [self.steps[n] for n in names[index:]]
                    if step.beside and any(s.stage == step.stage for s in later):
                        background.append((step, pool.submit(self._run_step, step, tag, force)))
                        continue
                    reports.append(self._run_step(step, tag, force))
                reports.extend(self._join(background))
            except BaseException:
                if background:
                    print("stopping the steps running beside", flush=True)
                    tools.stop_all()
                raise
        return reports

    def _check_writable(self) -> None:
        """One line, before any step, for a build folder that cannot hold the artefacts."""
        blocked = next((p for p in [self.build_dir, *self.build_dir.parents] if p.is_file()), None)
        if blocked is not None:
            raise ArtefactError(self.build_dir, f"cannot be a build folder: {blocked} is a file")
        probe = self.build_dir / ".econflow-write-test"
        try:
            self.build_dir.mkdir(parents=True, exist_ok=True)
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise ArtefactError(
                self.build_dir, f"build folder not writable ({exc.strerror})"
            ) from None

    def _join(self, background: list[tuple[Step, Future[StepReport]]]) -> list[StepReport]:
        """Wait for the steps running beside, in the order they started."""
        done = []
        while background:
            step, future = background[0]
            if not future.done():
                print(f"waiting for {step.name}, running beside", flush=True)
            done.append(future.result())
            background.pop(0)
        return done

    def _run_step(self, step: Step, tag: str, force: bool) -> StepReport:
        name = step.name
        with self._lock:
            self.provenance.require(step)
            outputs = step.outputs(self.cfg, self.build_dir)
            if not force and self.provenance.status(name).holds:
                print(f"{tag}: skipped (inputs and config unchanged)", flush=True)
                return StepReport(name, "skipped", 0.0, outputs)
            edited = None if force else self.provenance.edited_output(step)
            if edited is not None:
                raise edited_error(edited, name, "overwrite it with --force")
            consumed = self.provenance.consumed(step)
            print(f"{tag}: {'running beside' if step.beside else 'running'}", flush=True)
            self.provenance.forget(name)
        start = time.monotonic()
        try:
            if step.shows_all:
                result = step.run(self.cfg, self.build_dir, self.provenance.verdict())
            else:
                result = step.run(self.cfg, self.build_dir)
        except BaseException:
            with self._lock:
                self.provenance.forget(name, downstream=True)
            raise
        seconds = time.monotonic() - start
        with self._lock:
            self._record(step, result.model_copy(update={"runtime_s": round(seconds, 2)}))
            self.provenance.store(step, consumed, seconds)
        print(f"{tag}: done in {seconds:.1f} s", flush=True)
        return StepReport(name, "ran", seconds, step.outputs(self.cfg, self.build_dir))
