"""Typed step results and the stage metrics files that hold them.

Every step returns a :class:`StepResult`; the runner writes it as one section of its stage's
``metrics.json``. Each stage declares that file as a :class:`StageMetrics` model with one
optional field per section, so what a later step, the report or the run summary reads back is
validated against the same model the step wrote: a field renamed in one place and not the
other fails loudly instead of going missing from a report.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from econflow.errors import ArtefactError

METRICS = "metrics.json"


class Result(BaseModel):
    """Figures of a step, or a group of them; unknown keys are refused."""

    # NaN (a mean over no samples) is written as JSON's NaN, which Python reads back.
    model_config = ConfigDict(extra="forbid", frozen=True, ser_json_inf_nan="constants")


class StepResult(Result):
    """What a step returns; ``runtime_s`` is the step's wall time (s), set by the runner."""

    runtime_s: float | None = None


class StageMetrics(Result):
    """A stage's ``metrics.json``: one optional field per section. ``STAGE`` names the stage's
    folder in the build directory."""

    STAGE: ClassVar[str]

    @classmethod
    def path(cls, build: Path) -> Path:
        return Path(build) / cls.STAGE / METRICS

    @classmethod
    def read(cls, build: Path) -> Self:
        """The stage's figures so far (none when the file does not exist yet).

        Raises:
            ArtefactError: the file is not JSON or a section does not have the expected form.
        """
        path = cls.path(build)
        if not path.is_file():
            return cls()
        try:
            doc = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ArtefactError(path, f"not a readable metrics file ({exc})") from None
        try:
            return cls.model_validate(doc)
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(part) for part in err["loc"])
            raise ArtefactError(
                path, f"{key}: {err['msg']} (written by another econflow? rerun with --force)"
            ) from None

    @classmethod
    def drop_unreadable(cls, build: Path, sections: Iterable[str]) -> None:
        """Drop ``sections`` from a file this econflow cannot read (another version wrote
        it): the steps writing them are about to rerun, and the other sections still count."""
        path = cls.path(build)
        try:
            cls.read(build)
            return
        except ArtefactError:
            pass
        try:
            doc = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            doc = None
        if not isinstance(doc, dict):
            path.unlink()
            return
        for section in sections:
            doc.pop(section, None)
        _replace(path, doc)

    def with_section(self, section: str, value: Any) -> Self:
        if section not in type(self).model_fields:
            raise KeyError(f"{type(self).__name__} has no section {section!r}")
        return self.model_copy(update={section: value})

    def write(self, build: Path) -> Path:
        path = self.path(build)
        path.parent.mkdir(parents=True, exist_ok=True)
        _replace(path, self.model_dump(mode="json", exclude_none=True))
        return path

    @classmethod
    def record(cls, build: Path, section: str, value: Any) -> None:
        """Replace one section of the stage's file, keeping the others."""
        cls.read(build).with_section(section, value).write(build)

    def step_runtimes(self) -> dict[str, float]:
        """Section -> the wall time (s) of the step that wrote it."""
        return {
            name: value.runtime_s
            for name in type(self).model_fields
            if isinstance(value := getattr(self, name), StepResult) and value.runtime_s is not None
        }


def _replace(path: Path, doc: dict) -> None:
    """Write ``doc`` beside ``path`` and rename it over: a step reading the figures while one
    run beside records its own never sees a half-written file."""
    part = path.with_name(f".{path.name}.part")
    part.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    os.replace(part, path)
