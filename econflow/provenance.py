"""Whether a step's result holds for the design file in hand: checked from the records the
runner keeps, never assumed.

Each stage folder holds ``manifest.json``: per step, hashes of the design-file sections and
input files it consumed and of the files it wrote. A step's result *holds* when its record
exists, those hashes match the design file and the files now, its figures are in its stage's
metrics file, and every step it depends on holds too: the steps that write its input files
and those whose figures it reads (``Step.reads``). A step that shows every other step's
figures (``Step.shows_all``, the report) depends on none of them; it shows those that hold.

Content hashes only, never modification times: build folders get copied and shared, which
changes times and not contents. Each file version is hashed once per run (an in-memory cache
keyed by size, modification time and inode).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from econflow import __version__
from econflow.config import Config
from econflow.errors import ArtefactError, ConfigError, EconflowError
from econflow.stage import Step, file_hash

MANIFEST = "manifest.json"
MANIFEST_VERSION = 2
NO_RECORD = "has no record (it failed, was interrupted or has not run)"


@dataclass(frozen=True)
class Status:
    """Whether a step's result holds; where it does not, why, and the first step to rerun.
    ``edited`` is the artefact whose hand edit is the cause, relative to the build folder."""

    step: str
    problem: str | None = None
    rerun: str | None = None
    edited: str | None = None

    @property
    def holds(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class Verdict:
    """What a step that shows every other's figures (the report) needs: the statuses of the
    steps whose figures exist and do not hold, the metrics sections to leave out (stage ->
    sections), and the accepted hand edits (artefact -> its step and when)."""

    hidden: list[Status]
    sections: dict[str, tuple[str, ...]]
    edits: dict[str, dict[str, str]]


def edited_error(path: Path, step: str, otherwise: str) -> ArtefactError:
    """The error for an artefact changed since ``step`` wrote it: how to keep the edit, or
    ``otherwise`` what to do."""
    return ArtefactError(
        path,
        f"differs from what step '{step}' wrote (edited by hand?): keep the edit with "
        f"--accept-edit {path}, or {otherwise}",
    )


def digest(doc: Any) -> str:
    """SHA-256 of a JSON-able document, independent of key order."""
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


class Provenance:
    """The records of one build folder, for the steps of one design file."""

    def __init__(self, cfg: Config, build: Path, steps: dict[str, Step]) -> None:
        self.cfg = cfg
        self.build = build
        self.steps = steps
        self._hashes: dict[tuple[str, int, int, int], str] = {}

    def _manifest_path(self, step: Step) -> Path:
        return self.build / step.stage / MANIFEST

    def _manifest(self, step: Step) -> dict[str, Any]:
        """The recorded steps; an absent, unreadable or older manifest records none."""
        empty: dict[str, Any] = {"version": MANIFEST_VERSION, "steps": {}}
        try:
            doc = json.loads(self._manifest_path(step).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return empty
        if not isinstance(doc, dict) or doc.get("version") != MANIFEST_VERSION:
            return empty
        return doc if isinstance(doc.get("steps"), dict) else empty

    def _write_manifest(self, step: Step, doc: dict[str, Any]) -> None:
        path = self._manifest_path(step)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")

    def record(self, name: str) -> dict[str, Any] | None:
        found = self._manifest(self.steps[name])["steps"].get(name)
        return found if isinstance(found, dict) else None

    def key(self, path: Path) -> str:
        """A file's name in the records: relative to the build folder, so it can move. Links
        are not followed: a stage folder linked from a shared one (sweep variants sharing their
        models) names its files as the build folder that wrote them does."""
        absolute = Path(os.path.normpath(path.absolute()))
        try:
            return str(absolute.relative_to(os.path.normpath(self.build.absolute())))
        except ValueError:
            return str(absolute)

    def hash(self, path: Path) -> str | None:
        """The file's SHA-256, or None when it does not exist."""
        try:
            stat = path.stat()
        except OSError:
            return None
        if not path.is_file():
            return None
        cached = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)
        if cached not in self._hashes:
            self._hashes[cached] = file_hash(path)
        return self._hashes[cached]

    def _config_hashes(self, step: Step) -> dict[str, str]:
        return {s: digest(self.cfg.section(s)) for s in step.config}

    def _figure_hashes(self, step: Step) -> dict[str, str | None]:
        """Hashes of the figures of the steps it reads (without their runtimes)."""
        found: dict[str, str | None] = {}
        for name in step.reads:
            other = self.steps[name]
            try:
                figures = getattr(other.metrics.read(self.build), other.section)
            except ArtefactError:
                figures = None
            if figures is None:
                found[name] = None
                continue
            found[name] = digest(figures.model_dump(mode="json", exclude={"runtime_s"}))
        return found

    def _input_hashes(self, step: Step) -> dict[str, str | None]:
        return {self.key(p): self.hash(p) for p in step.inputs(self.cfg, self.build)}

    def consumed(self, step: Step) -> dict[str, Any]:
        """What the step reads now: hashes of its design-file sections and input files (and,
        for a step showing every other's figures, which of them hold).

        Raises:
            ConfigError: a CSV file the design file names is missing.
            ArtefactError: another input is missing.
        """
        csv = self.cfg.csv_paths()
        inputs = {}
        for path in step.inputs(self.cfg, self.build):
            found = inputs[self.key(path)] = self.hash(path)
            if found is None:
                if path in csv:  # the user's data, not an artefact
                    key = f"data.csv.{csv.index(path)}"
                    raise ConfigError(self.cfg.path, key, f"file not found: {path}")
                raise ArtefactError(path, f"input of step '{step.name}' is missing")
        doc: dict[str, Any] = {
            "config": self._config_hashes(step),
            "inputs": inputs,
            "figures": self._figure_hashes(step),
        }
        if step.shows_all:
            doc["shown"] = self._shown()
        return doc

    def _shown(self) -> dict[str, Any]:
        """Which steps hold (the problem of those that do not) and the accepted edits."""
        memo: dict[str, Status] = {}
        producers = self._producers()
        problems = {
            name: self._status(name, memo, producers).problem
            for name, step in self.steps.items()
            if not step.shows_all
        }
        return {"problems": problems, "edits": self.edits()}

    def _producers(self) -> dict[str, str]:
        """File (key) -> the step that writes it."""
        return {
            self.key(path): name
            for name, step in self.steps.items()
            for path in step.outputs(self.cfg, self.build)
        }

    def _dependencies(self, step: Step, producers: dict[str, str]) -> dict[str, Path | None]:
        """The steps it needs to hold, each with the input file it writes (None for a step
        whose figures it reads)."""
        if step.shows_all:
            return {}
        found: dict[str, Path | None] = {}
        for path in step.inputs(self.cfg, self.build):
            name = producers.get(self.key(path))
            if name is not None and name != step.name:
                found.setdefault(name, path)
        for name in step.reads:
            found.setdefault(name, None)
        return found

    def statuses(self) -> dict[str, Status]:
        """Every step's status, in flow order."""
        memo: dict[str, Status] = {}
        producers = self._producers()
        for name in self.steps:
            self._status(name, memo, producers)
        return {name: memo[name] for name in self.steps}

    def verdict(self) -> Verdict:
        """Which figures to show.

        Raises:
            ArtefactError: a metrics file is unreadable or not in this econflow's form.
        """
        hidden, sections = [], {}
        for name, status in self.statuses().items():
            step = self.steps[name]
            if status.holds or step.shows_all:
                continue
            metrics = step.metrics.read(self.build)
            present = tuple(
                s for s in (step.section, *step.sections) if getattr(metrics, s) is not None
            )
            if present:
                hidden.append(status)
                sections[step.stage] = sections.get(step.stage, ()) + present
        return Verdict(hidden, sections, self.edits())

    def status(self, name: str) -> Status:
        return self._status(name, {}, self._producers())

    def _status(self, name: str, memo: dict[str, Status], producers: dict[str, str]) -> Status:
        if name in memo:
            return memo[name]
        step = self.steps[name]
        memo[name] = Status(name, "depends on itself", name)  # a cycle: never holds
        found = Status(name)
        try:
            dependencies = self._dependencies(step, producers)
        except EconflowError as exc:  # its inputs cannot even be listed
            memo[name] = Status(name, f"cannot list its inputs ({exc})", name)
            return memo[name]
        for dep in dependencies:
            upstream = self._status(dep, memo, producers)
            if not upstream.holds:
                cause = memo[upstream.rerun or dep]
                problem = f"depends on step '{cause.step}', which {cause.problem}"
                found = Status(name, problem, cause.step, cause.edited)
                break
        else:
            problem, edited = self._own_problem(step)
            if problem is not None:
                found = Status(name, problem, name, edited)
        memo[name] = found
        return found

    def _own_problem(self, step: Step) -> tuple[str | None, str | None]:
        """Why the step's own record does not match the design and files now (and the
        hand-edited output, where that is why)."""
        record = self.record(step.name)
        if record is None:
            return NO_RECORD, None
        if record.get("econflow") != __version__:
            return f"was recorded by econflow {record.get('econflow')}", None
        recorded = record.get("config", {})
        for section, expected in self._config_hashes(step).items():
            if recorded.get(section) != expected:
                kind = "value" if "." in section else "section"
                return f"ran with another '{section}' {kind} of the design file", None
        inputs = self._input_hashes(step)
        if set(inputs) != set(record.get("inputs", {})):
            return "ran on another set of input files", None
        for key, found in inputs.items():
            if found is None:
                return f"lacks its input {key}", None
            if record["inputs"][key] != found:
                return f"ran on another version of {key}", None
        if record.get("figures", {}) != self._figure_hashes(step):
            return f"read other figures of step(s) {', '.join(step.reads)}", None
        outputs = record.get("outputs", {})
        for path in step.outputs(self.cfg, self.build):
            if self.key(path) not in outputs:
                return f"did not record its output {self.key(path)}", None
        for key in outputs:
            if self.hash(self.build / key) is None:
                return f"lacks its output {key} (deleted?)", None
        edited = self.edited_output(step)
        if edited is not None:
            return f"wrote {self.key(edited)} differently (edited by hand?)", self.key(edited)
        try:
            figures = getattr(step.metrics.read(self.build), step.section)
        except ArtefactError as exc:
            return f"cannot be read back ({exc})", None
        if figures is None:
            return f"has no figures in {step.stage}/metrics.json", None
        if step.shows_all and record.get("shown") != self._shown():
            return "showed other steps' results than hold now", None
        return None, None

    def require(self, step: Step) -> None:
        """Refuse to run ``step`` on inputs whose producing step does not hold.

        Raises:
            ArtefactError: naming the input (or the metrics file read) and the step to rerun.
        """
        memo: dict[str, Status] = {}
        producers = self._producers()
        for dep, path in self._dependencies(step, producers).items():
            found = self._status(dep, memo, producers)
            if found.holds:
                continue
            where = path if path is not None else self.steps[dep].metrics.path(self.build)
            if found.edited is not None:
                rerun = f"rerun step '{found.rerun}' with --force"
                raise edited_error(self.build / found.edited, str(found.rerun), rerun)
            what = "written by" if path is not None else "holds the figures of"
            rerun = f"run step '{found.rerun}'"
            if dep != found.rerun:
                rerun += " and those after it"
            raise ArtefactError(where, f"{what} step '{dep}', which {found.problem}: {rerun}")

    def edited_output(self, step: Step) -> Path | None:
        """An output of the step's last run that has been changed since (a hand edit)."""
        record = self.record(step.name)
        for key, written in (record or {}).get("outputs", {}).items():
            now = self.hash(self.build / key)
            if now is not None and now != written:
                return self.build / key
        return None

    def store(self, step: Step, consumed: dict[str, Any], seconds: float) -> None:
        """Record a step that finished: what it consumed and the files it wrote."""
        manifest = self._manifest(step)
        outputs = step.outputs(self.cfg, self.build)
        manifest["steps"][step.name] = {
            **consumed,
            "outputs": {self.key(p): self.hash(p) for p in outputs},
            "econflow": __version__,
            "seconds": round(seconds, 2),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        self._write_manifest(step, manifest)

    def forget(self, name: str, downstream: bool = False) -> list[str]:
        """Remove the step's record and, with ``downstream``, those of every step that depends
        on it, directly or not (and of the steps showing every result); returns their names."""
        gone = [name]
        if downstream:
            later = list(self.steps)[list(self.steps).index(name) + 1 :]
            try:
                producers: dict[str, str] | None = self._producers()
            except EconflowError:  # outputs cannot be listed now: take every later step
                producers = None
            for other in later:
                step = self.steps[other]
                try:
                    needs = set(self._dependencies(step, producers)) if producers else {name}
                except EconflowError:  # its inputs cannot be listed now: it cannot hold either
                    needs = {name}
                if step.shows_all or needs & set(gone):
                    gone.append(other)
        for other in gone:
            step = self.steps[other]
            manifest = self._manifest(step)
            if manifest["steps"].pop(other, None) is not None or other == name:
                self._write_manifest(step, manifest)
        return gone

    def accept_edit(self, path: Path) -> str:
        """Record a hand edit of an artefact as intended: its producing step's record takes
        the file as it is now and notes the edit. Returns the step's name.

        Raises:
            ArtefactError: the file is no step's output, or its step has no record.
        """
        key = self.key(path)
        name = self._producers().get(key)
        if name is None:
            raise ArtefactError(path, "--accept-edit: not a file a flow step writes")
        manifest = self._manifest(self.steps[name])
        record = manifest["steps"].get(name)
        now = self.hash(path)
        if record is None or key not in record.get("outputs", {}) or now is None:
            raise ArtefactError(
                path, f"--accept-edit: step '{name}' has no record of writing it; run '{name}'"
            )
        if record["outputs"][key] != now:
            edit = {"accepted": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "hash": now}
            record.setdefault("edited", {})[key] = edit
            record["outputs"][key] = now
            self._write_manifest(self.steps[name], manifest)
        return name

    def edits(self) -> dict[str, dict[str, str]]:
        """Accepted hand edits: artefact (relative to the build folder) -> its step and when."""
        found = {}
        for name in self.steps:
            record = self.record(name) or {}
            for key, edit in record.get("edited", {}).items():
                if record.get("outputs", {}).get(key) == edit.get("hash"):
                    found[key] = {"step": name, "accepted": edit.get("accepted", "")}
        return found
