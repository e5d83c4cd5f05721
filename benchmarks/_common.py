"""Helpers shared by the benchmark scripts: where results go and how they are written."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

import econflow

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"


def write(name: str, figures: dict[str, Any]) -> Path:
    """Write ``results/<name>.json`` with the figures and the machine they came from."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    doc = {
        "benchmark": name,
        "econflow": econflow.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {"cpus": _cpus(), "python": platform.python_version()},
        **figures,
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {path}")
    return path


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))
