"""The ``report`` flow step: ``<build>/report/report.html`` and ``report.md``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from econflow.config import Config
from econflow.flow import tooling
from econflow.reports import build
from econflow.stage import METRICS, Step


def _run(cfg: Config, build_dir: Path) -> dict[str, Any]:
    found = tooling.survey()
    table = [(f.tool.name, f.version or "not found", f.tool.used_for) for f in found]
    written = build.build(cfg, build_dir, table)
    print(f"  report: {written[1]}")
    return {"report_html": str(written[1]), "report_md": str(written[0]), "files": len(written)}


def _inputs(_cfg: Config, build_dir: Path) -> list[Path]:
    paths = [build_dir / stage / METRICS for stage in build.STAGES]
    return [p for p in paths if p.is_file()]


def _outputs(_cfg: Config, build_dir: Path) -> list[Path]:
    return [build_dir / build.STAGE / name for name in ("report.md", "report.html")]


STEPS: tuple[Step, ...] = (
    Step("report", build.STAGE, "report", ("design", "hardware", "pdk"), _inputs, _outputs, _run),
)
