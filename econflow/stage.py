"""What every stage shares: the flow step description and the stage's metrics file."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from econflow.config import Config
from econflow.errors import ArtefactError

METRICS = "metrics.json"

FileList = Callable[[Config, Path], list[Path]]


@dataclass(frozen=True)
class Step:
    """A flow step: what it reads and writes, and its work.

    ``stage`` names the build-directory folder holding its outputs, manifest and metrics;
    ``section`` is the top-level key of that folder's ``metrics.json`` the step fills;
    ``config`` lists the design-file sections whose change makes it rerun. The callables
    take the design and the build directory.
    """

    name: str
    stage: str
    section: str
    config: tuple[str, ...]
    inputs: FileList
    outputs: FileList
    run: Callable[[Config, Path], dict[str, Any]]


def file_hash(path: Path) -> str:
    """SHA-256 of a file, hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_metrics(path: Path) -> dict[str, Any]:
    """A stage's metrics (empty when none were written yet)."""
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ArtefactError(path, f"not JSON ({exc.msg})") from None


def update_metrics(path: Path, section: str, values: dict[str, Any]) -> None:
    """Replace one top-level section of a metrics file, keeping the others."""
    metrics = read_metrics(path)
    metrics[section] = values
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
