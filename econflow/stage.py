"""What every stage shares: the flow step description and file hashes for its manifest."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from econflow.config import Config
from econflow.results import StageMetrics, StepResult

FileList = Callable[[Config, Path], list[Path]]


@dataclass(frozen=True)
class Step:
    """A flow step: what it reads and writes, and its work.

    ``metrics`` is its stage's metrics file (whose ``STAGE`` names the build-directory folder
    holding the step's outputs and manifest) and ``section`` the field of it the step's result
    fills; ``config`` lists the design-file sections whose change makes it rerun. The
    callables take the design and the build directory. A step ``beside`` runs in the
    background while the steps after it in its stage run: its work is external tools (it
    leaves the cores to them, not to Python) and no step of its stage reads what it writes.

    ``sections`` names further fields of the metrics file the step writes (beside its
    ``section``); ``reads`` the steps whose figures it reads (beyond those writing its input
    files): it runs only where they hold for the design file. A step that ``shows_all`` (the
    report) shows the figures of every other step, each only where it holds: its work takes
    the runner's ``econflow.provenance.Verdict`` as a third argument.
    """

    name: str
    metrics: type[StageMetrics]
    section: str
    config: tuple[str, ...]
    inputs: FileList
    outputs: FileList
    run: Callable[..., StepResult]
    beside: bool = False
    sections: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()
    shows_all: bool = False

    @property
    def stage(self) -> str:
        return self.metrics.STAGE


def file_hash(path: Path) -> str:
    """SHA-256 of a file, hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
