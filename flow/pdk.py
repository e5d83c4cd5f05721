"""PDK configurations (``pdk_configs/<name>.yaml``) and the library data they point at.

A PDK config names the lambdapdk PDK and standard-cell library classes, the corners, the
supply pin, dont-use cells, clock constraints and the synthesis settings. The library files
are lambdapdk's own; they come from the folder ``ECONFLOW_LAMBDAPDK`` names, or from
lambdapdk's download when the design allows it (``pdk.download: true``). Nothing is
downloaded otherwise.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from econflow.config import Config
from econflow.errors import ConfigError, PdkDataError

DATA_VARIABLE = "ECONFLOW_LAMBDAPDK"
DATAROOT = "lambdapdk"
_INTERNAL_POWER = re.compile(r"^(\s*)internal_power\s*\(\s*\)\s*\{\s*$", re.MULTILINE)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class LambdaPdkRef(_Strict):
    pdk: str  # dotted path of the lambdapdk PDK class
    library: str  # dotted path of the standard-cell library class


class Corners(_Strict):
    timing: str = "slow"
    power: str = "typical"
    typical_timing: str = "typical"


class ClockConstraints(_Strict):
    uncertainty_ns: float = Field(0.0, ge=0)
    io_delay_fraction: float = Field(0.2, ge=0, lt=1)
    driving_cell: str
    output_load_pf: float = Field(0.005, ge=0)


class SynthesisSettings(_Strict):
    abc_script: str = Field(pattern=r"^\+")  # generic ABC runs (see econflow.tools)
    map_script: str = Field(pattern=r"^\+")  # ABC's mapping to the cell library


class PdkConfig(_Strict):
    name: str
    description: str
    lambdapdk: LambdaPdkRef
    corners: Corners = Corners()
    supply_pin: str
    core_utilization: float = Field(gt=0, le=100)
    dont_use: list[str] = Field(default_factory=list)
    clock: ClockConstraints
    synthesis: SynthesisSettings


def available() -> list[str]:
    """Names of the shipped PDK configs."""
    folder = resources.files("econflow.pdk_configs")
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def load_config(cfg: Config) -> tuple[PdkConfig, Path]:
    """The PDK config the design names (``pdk.name``), and its file."""
    name = cfg.design.pdk.name
    if name not in available():
        raise ConfigError(
            cfg.path,
            "pdk.name",
            f"unknown PDK {name!r}; pdk_configs/ holds {', '.join(available())}",
        )
    path = Path(str(resources.files("econflow.pdk_configs") / f"{name}.yaml"))
    try:
        return PdkConfig.model_validate(yaml.safe_load(path.read_text())), path
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise ConfigError(path, key, err["msg"].removeprefix("Value error, ")) from None


def _import(dotted: str, path: Path, key: str) -> Any:
    module, _, name = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise ConfigError(
            path, key, f"cannot import {dotted!r} (is lambdapdk installed?)"
        ) from None


@dataclass
class Pdk:
    """A PDK config with its lambdapdk objects, their data root set, and the files checked."""

    config: PdkConfig
    path: Path
    pdk: Any  # lambdapdk PDK (a SiliconCompiler PDK)
    library: Any  # lambdapdk standard-cell library (a SiliconCompiler StdCellLibrary)

    @property
    def name(self) -> str:
        return self.config.name

    def liberty(self, corner: str) -> Path:
        """The (gzipped) NLDM liberty of ``corner``."""
        filesets = self.library.get("asic", "libcornerfileset", corner, "nldm")
        if not filesets:
            raise ConfigError(self.path, "corners", f"the library has no {corner!r} corner")
        return Path(self.library.find_files("fileset", filesets[0], "file", "liberty")[0])

    def sim_models(self) -> list[Path]:
        """Verilog models of the cells, for gate-level simulation."""
        return [
            Path(p) for p in self.library.find_files("fileset", "models.sim", "file", "verilog")
        ]

    def prepared_liberty(self, corner: str, folder: Path) -> Path:
        """``corner``'s liberty as Debian's OpenSTA 2019 needs it: unzipped, and each
        ``internal_power`` group naming ``related_pg_pin`` (sky130 names the supply on the
        pin, and without it OpenSTA counts no internal power)."""
        source = self.liberty(corner)
        digest = hashlib.sha256(f"{source}:{source.stat().st_mtime_ns}".encode()).hexdigest()[:12]
        target = folder / f"{source.name.removesuffix('.gz').removesuffix('.lib')}.{digest}.lib"
        if not target.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            with gzip.open(source, "rt") if source.suffix == ".gz" else source.open() as handle:
                text = handle.read()
            pin = self.config.supply_pin
            text = _INTERNAL_POWER.sub(rf'\g<0>\n\1    related_pg_pin : "{pin}";', text)
            temporary = target.with_suffix(".tmp")
            temporary.write_text(text)
            temporary.replace(target)
        return target


def open_pdk(cfg: Config, work: Path) -> Pdk:
    """The design's PDK with its library data located and checked.

    Raises:
        PdkDataError: no data folder and downloads not allowed, or a library file missing.
    """
    config, path = load_config(cfg)
    pdk = _import(config.lambdapdk.pdk, path, "lambdapdk.pdk")()
    library = _import(config.lambdapdk.library, path, "lambdapdk.library")()
    root = _data_root(cfg, config, work)
    if root is not None:
        for obj in (pdk, library):
            obj.set_dataroot(DATAROOT, str(root), clobber=True)
    library.add_asic_celllist("dontuse", list(config.dont_use))
    found = Pdk(config, path, pdk, library)
    if root is not None:
        _check_data(found, root)
    return found


def _data_root(cfg: Config, config: PdkConfig, work: Path) -> Path | None:
    """The folder lambdapdk's data root points at (holding ``lambdapdk/``), or None to let
    lambdapdk download."""
    folder = os.environ.get(DATA_VARIABLE)
    if not folder:
        if cfg.design.pdk.download:
            return None
        raise PdkDataError(
            f"no library data for {config.name}: set {DATA_VARIABLE} to the folder holding "
            f"lambdapdk's data (on the project's machines ../shared/pdks/lambdapdk), or set "
            f"pdk.download: true in {cfg.path} to let lambdapdk download it"
        )
    data = Path(folder).expanduser().resolve()
    if not data.is_dir():
        raise PdkDataError(f"{DATA_VARIABLE}={folder}: no such folder (lambdapdk's data)")
    root = work / "pdk_data"
    root.mkdir(parents=True, exist_ok=True)
    link = root / DATAROOT
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(data, target_is_directory=True)
    return root


def _check_data(pdk: Pdk, root: Path) -> None:
    try:
        for corner in {pdk.config.corners.timing, pdk.config.corners.power}:
            pdk.liberty(corner)
        pdk.sim_models()
        pdk.library.find_files("fileset", "models.physical", "file", "lef")
    except FileNotFoundError as exc:
        missing = str(exc).split("Unable to locate", 1)[-1].strip(" '")
        raise PdkDataError(
            f"library data for {pdk.name} is incomplete in {(root / DATAROOT).resolve()} "
            f"({DATA_VARIABLE}): missing {missing}"
        ) from None
