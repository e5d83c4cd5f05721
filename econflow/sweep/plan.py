"""The sweep file: a base design file and the axes to vary, expanded into validated variants.

```yaml
design: ../tests/configs/micro.yaml   # relative to the sweep file
name: micro_bits_tmr                  # default: the sweep file's name
steps: [data, emd, train, quantize, rtl, synth, sta, power, report]   # default: the design's
set: {gate_level.vectors: 500}        # applied to every variant
axes:                                 # the full grid of these
  model.dense.weight.bits: [3, 4]
  hardware.tmr: [none, config, full]
zip:                                  # each group's lists move together (equal lengths)
  - {hardware.pipeline_depth: [0, 2], hardware.clock_mhz: [20, 40]}
variants:                             # further variants, each named
  - {name: reference, set: {hardware.pipeline_depth: auto}}
```

Every variant is checked as a design file (``econflow.config.with_overrides``) before any
runs; an error names the sweep file, the variant and the key. Variants whose model steps read
the same design values form one *model group*, identified by a fingerprint of those values:
the sweep trains each group once.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from econflow import pdk
from econflow.architecture import architecture
from econflow.config import (
    OVERRIDE_NOTE,
    STEPS,
    Config,
    UniqueKeyLoader,
    load_config,
    with_overrides,
)
from econflow.errors import ConfigError
from econflow.provenance import digest
from econflow.runner import all_steps, in_flow_order
from econflow.stage import Step

NAME = r"^[A-Za-z0-9_.=+-]+$"
DEFAULT_PEAK_GB, DEFAULT_SIZE = 13.8, 153_600  # encoder.yaml: its synthesis, its arithmetic


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExplicitVariant(_Strict):
    name: str = Field(pattern=NAME)
    set: dict[str, Any] = Field(default_factory=dict)


class SweepFile(_Strict):
    """The sweep file as written."""

    design: Path
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+$")
    steps: list[str] | None = None
    set: dict[str, Any] = Field(default_factory=dict)
    axes: dict[str, list[Any]] = Field(default_factory=dict)
    zip: list[dict[str, list[Any]]] = Field(default_factory=list)
    variants: list[ExplicitVariant] = Field(default_factory=list)
    memory_gb: float | None = Field(None, gt=0)  # peak of one variant; default: estimated


@dataclass(frozen=True)
class Variant:
    """One design of the sweep: its name, the values it changes (by dotted key, the sweep's
    ``set`` included) and the validated design."""

    name: str
    values: dict[str, Any]
    cfg: Config
    models: str  # fingerprint of what its model steps read: variants sharing it train once


@dataclass(frozen=True)
class Sweep:
    path: Path
    name: str
    design: Path
    steps: list[str]
    axes: list[str]  # the keys that vary, in the order the file gives them
    variants: list[Variant]
    memory_gb: float  # the peak memory of one variant's run (given, else estimated)


def model_steps() -> list[Step]:
    """The steps of the models stage: their design values decide which variants share them."""
    return [step for step in all_steps().values() if step.stage == "models"]


def load_sweep(path: str | Path) -> Sweep:
    """Read, expand and validate a sweep file.

    Raises:
        ConfigError: naming the sweep file and the key (for a variant, its name).
    """
    path = Path(path)
    spec = _read(path)
    base_path = (path.parent / spec.design).resolve()
    if not base_path.is_file():
        raise ConfigError(path, "design", f"design file not found: {base_path}")
    base = load_config(base_path)
    common = dict(spec.set)
    axes = [*spec.axes, *(key for group in spec.zip for key in group)]
    if len(set(axes)) != len(axes):
        raise ConfigError(path, "axes", "a key appears in more than one axis")
    if set(axes) & set(common):
        both = sorted(set(axes) & set(common))
        raise ConfigError(path, "set", f"{', '.join(both)} also vary as axes")
    labels = _labels(axes)
    variants = []
    for values in _grid(path, spec):
        name = "_".join(f"{labels[key]}-{_slug(value)}" for key, value in values.items())
        variants.append(_variant(path, base, name, {**common, **values}))
    for index, explicit in enumerate(spec.variants):
        merged = {**common, **explicit.set}
        variants.append(_variant(path, base, explicit.name, merged, index))
    if not variants:
        raise ConfigError(path, "axes", "the sweep has no variant: give axes, zip or variants")
    names = [v.name for v in variants]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(path, "variants", f"variant name(s) given twice: {', '.join(twice)}")
    memory = spec.memory_gb or max(estimated_memory_gb(v.cfg) for v in variants)
    sweep = Sweep(path, spec.name or path.stem, base_path, [], axes, variants, memory)
    return with_steps(sweep, spec.steps or list(base.design.flow.steps))


def with_steps(sweep: Sweep, steps: list[str], key: str = "steps") -> Sweep:
    """The sweep running ``steps`` (in flow order) instead of its own."""
    ordered = in_flow_order(sweep.path, key, steps)
    if not ordered:
        raise ConfigError(sweep.path, key, f"selects no step; expected of {', '.join(STEPS)}")
    return replace(sweep, steps=ordered)


def _read(path: Path) -> SweepFile:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=UniqueKeyLoader)
    except OSError as exc:
        raise ConfigError(path, "", f"cannot read file ({exc.strerror})") from None
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(path, "", f"not a valid sweep file: {exc}".splitlines()[0]) from None
    if not isinstance(raw, dict):
        raise ConfigError(path, "", "expected a mapping (design, axes, ...) at the top level")
    try:
        return SweepFile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = (
                "unknown key (expected design, name, steps, set, axes, zip, variants, memory_gb)"
            )
        raise ConfigError(path, key, message) from None


def _grid(path: Path, spec: SweepFile) -> list[dict[str, Any]]:
    """The full grid of ``axes`` crossed with each ``zip`` group (values taken together)."""
    dimensions: list[list[dict[str, Any]]] = []
    for key, values in spec.axes.items():
        if not values:
            raise ConfigError(path, f"axes.{key}", "empty list of values")
        dimensions.append([{key: v} for v in values])
    for index, group in enumerate(spec.zip):
        lengths = {key: len(values) for key, values in group.items()}
        if not group or len(set(lengths.values())) != 1 or 0 in lengths.values():
            raise ConfigError(
                path, f"zip.{index}", f"expected lists of one non-zero length, got {lengths}"
            )
        count = next(iter(lengths.values()))
        dimensions.append([{k: v[i] for k, v in group.items()} for i in range(count)])
    if not dimensions:
        return []
    return [
        {k: v for part in combo for k, v in part.items()}
        for combo in itertools.product(*dimensions)
    ]


def _variant(
    path: Path,
    base: Config,
    name: str,
    values: dict[str, Any],
    index: int | None = None,
) -> Variant:
    try:
        cfg = with_overrides(base, values)
        pdk.load_config(cfg)
    except ConfigError as exc:
        where = f"variants.{index} ({name})" if index is not None else f"variant {name}"
        # the first error of the variant; its values are the sweep file's, not overrides
        message = exc.message.splitlines()[0].removesuffix(OVERRIDE_NOTE)
        raise ConfigError(path, f"{where}: {exc.key}", message) from None
    return Variant(name, values, cfg, models_fingerprint(cfg))


def models_fingerprint(cfg: Config) -> str:
    """What the model steps read of the design, hashed: variants that agree share them."""
    sections = sorted({s for step in model_steps() for s in step.config})
    return digest({s: cfg.section(s) for s in sections})[:12]


def estimated_memory_gb(cfg: Config) -> float:
    """A variant's peak memory, scaled from one measurement by its amount of arithmetic
    (products x weight bits x input bits): the default encoder's synthesis peaked at
    13.8 GB. A rough guide for ``--jobs`` and Slurm's ``--mem``, at least 1 GB; a sweep file
    sets ``memory_gb`` where it knows better."""
    a = architecture(cfg.design.model)
    size = a.conv_outputs * a.conv.taps * a.conv.weight.bits * a.conv.input.bits
    size += a.latent * a.dense.taps * a.dense.weight.bits * a.dense.input.bits
    return max(1.0, math.ceil(2 * DEFAULT_PEAK_GB * size / DEFAULT_SIZE) / 2)


def _labels(keys: list[str]) -> dict[str, str]:
    """The shortest dotted suffix of each key that tells it from the others."""
    labels = {}
    for key in keys:
        parts = key.split(".")
        for size in range(1, len(parts) + 1):
            label = ".".join(parts[-size:])
            others = [other for other in keys if other != key]
            if all(other != label and not other.endswith("." + label) for other in others):
                break
        labels[key] = label
    return labels


def _slug(value: Any) -> str:
    """A value as it can stand in a folder name."""
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", str(value)).strip("-") or "empty"
