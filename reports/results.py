"""The report stage's own figures, and every stage's figures of one build read together: the
one place the report and the run summary read results from."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

from econflow.flow.results import FlowMetrics, LayoutMetrics
from econflow.hls.results import HlsMetrics
from econflow.models.results import ModelsMetrics
from econflow.provenance import Status, Verdict
from econflow.results import StageMetrics, StepResult
from econflow.rtl.results import RtlMetrics
from econflow.verification.results import VerifyMetrics


class ReportResult(StepResult):
    report_html: str
    report_md: str
    files: int  # the reports and their figures


class ReportMetrics(StageMetrics):
    STAGE: ClassVar[str] = "report"

    report: ReportResult | None = None


@dataclass(frozen=True)
class BuildResults:
    """The figures of every stage of a build directory (empty where a stage has not run)."""

    models: ModelsMetrics
    hls: HlsMetrics
    rtl: RtlMetrics
    verify: VerifyMetrics
    flow: FlowMetrics
    layout: LayoutMetrics
    report: ReportMetrics

    def stages(self) -> dict[str, StageMetrics]:
        return {m.STAGE: m for m in vars(self).values()}


# The stages whose figures the report shows, in the order data flows through them.
REPORTED: tuple[type[StageMetrics], ...] = (
    ModelsMetrics,
    HlsMetrics,
    RtlMetrics,
    VerifyMetrics,
    FlowMetrics,
    LayoutMetrics,
)


def load(build: Path) -> BuildResults:
    """Every stage's metrics file, validated.

    Raises:
        ArtefactError: a metrics file is unreadable or not in this econflow's form.
    """
    return BuildResults(*(stage.read(build) for stage in (*REPORTED, ReportMetrics)))


def reported_files(build: Path) -> list[Path]:
    """The metrics files the report is built from, those that exist."""
    return [s.path(build) for s in REPORTED if s.path(build).is_file()]


@dataclass(frozen=True)
class Shown:
    """The figures of a build that hold for the design file in hand; ``hidden`` the steps
    whose figures exist and do not hold (why, and which step to rerun); ``edits`` the accepted
    hand edits of artefacts (file -> its step and when)."""

    results: BuildResults
    hidden: list[Status] = field(default_factory=list)
    edits: dict[str, dict[str, str]] = field(default_factory=dict)


def shown(build: Path, verdict: Verdict) -> Shown:
    """Every stage's figures, without those the runner's verdict leaves out.

    Raises:
        ArtefactError: a metrics file is unreadable or not in this econflow's form.
    """
    results = load(build)
    kept = {
        name: metrics.model_copy(update=dict.fromkeys(verdict.sections.get(metrics.STAGE, ())))
        for name, metrics in vars(results).items()
    }
    return Shown(replace(results, **kept), verdict.hidden, verdict.edits)
