"""The ``report`` flow step: ``<build>/report/report.html`` and ``report.md``."""

from __future__ import annotations

from pathlib import Path

from econflow import toolchain
from econflow.config import Config
from econflow.provenance import Verdict
from econflow.reports import build
from econflow.reports.results import ReportMetrics, ReportResult, reported_files
from econflow.stage import Step

REPORTS = ("report.md", "report.html")


def _run(cfg: Config, build_dir: Path, verdict: Verdict) -> ReportResult:
    found = toolchain.survey()
    table = [(f.tool.name, f.version or "not found", f.tool.used_for) for f in found]
    written = build.build(cfg, build_dir, verdict, table)
    print(f"  report: {written[1]}")
    return ReportResult(report_html=str(written[1]), report_md=str(written[0]), files=len(written))


def _outputs(_cfg: Config, build_dir: Path) -> list[Path]:
    return [build_dir / ReportMetrics.STAGE / name for name in REPORTS]


STEPS: tuple[Step, ...] = (
    Step(
        "report",
        ReportMetrics,
        "report",
        ("design", "hardware", "pdk"),
        lambda _cfg, build_dir: reported_files(build_dir),
        _outputs,
        _run,
        shows_all=True,
    ),
)
