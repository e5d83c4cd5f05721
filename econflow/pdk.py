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
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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


class ClockGate(_Strict):
    """An integrated clock-gating cell and its pins: ``gated`` follows ``clock`` in the cycles
    whose ``enable`` was high while the clock was low."""

    cell: str
    clock: str
    enable: str
    gated: str


class Buffer(_Strict):
    """A non-inverting buffer and its pins."""

    cell: str
    input: str
    output: str


class CellRoles(_Strict):
    """Cells econflow refers to by what they do."""

    gate: str  # a two-input NAND: the pipeline planner's unit of delay
    flip_flop: str  # the registers' flip-flop: its clock-to-output and setup times
    clock_gate: ClockGate | None = None  # without it, no clock gating
    buffer: Buffer  # drives the top module's nets into the kept sum modules


class SynthesisSettings(_Strict):
    abc_script: str = Field(pattern=r"^\+")  # generic ABC runs (see econflow.tools)
    map_script: str = Field(pattern=r"^\+")  # ABC's mapping to the cell library
    # The mapped logic's delay per gate level of the pipeline planner's model, relative to the
    # characterised gate (measured: post-synthesis stage delays / the model's)
    gate_derate: float = Field(gt=0)
    # Full and half adders found in the logic mapped to the library's adder cells (Yosys
    # extract_fa and the library's adder map) instead of being left to ABC as NAND gates
    map_adders: bool = False
    # Input capacitance (the liberty's unit) one net of the top module may drive inside the
    # sum modules before it is split behind buffers (econflow.flow.fanout)
    max_load: float = Field(gt=0)
    # The load ABC sizes every module output for (fF): in the top module these drive the sum
    # modules' ports, whose pins ABC does not see
    output_load_ff: float = Field(gt=0)


class RoutingLayer(_Strict):
    """A routing layer, bottom up; lengths in µm, areas in µm²."""

    name: str
    direction: Literal["horizontal", "vertical"]
    pitch: float = Field(gt=0)
    width: float = Field(gt=0)
    spacing: float = Field(gt=0)
    area: float = Field(ge=0)  # minimum area
    hole_area: float = Field(0.0, ge=0)  # minimum area of a hole in the layer's metal; 0: none
    gds: list[int] = Field(min_length=2, max_length=2)  # GDS layer, datatype


class CutLayer(_Strict):
    """A via layer between two routing layers; lengths in µm."""

    name: str
    below: str
    above: str
    size: float = Field(gt=0)
    spacing: float = Field(gt=0)
    enclosure_below: float = Field(ge=0)
    enclosure_above: float = Field(ge=0)
    gds: list[int] = Field(min_length=2, max_length=2)


class PowerStripes(_Strict):
    width_um: float = Field(gt=0)
    pitch_um: float = Field(gt=0)


class BufferTrees(_Strict):
    """The buffer trees built on the placement (econflow.flow.buffering): clock nets take
    ``clock_buffer``, other nets ``buffer``; no buffer or driver drives more than
    ``max_fanout`` pins."""

    clock_buffer: Buffer
    buffer: Buffer
    max_fanout: int = Field(ge=2)


class RouterRules(_Strict):
    """What qrouter must be told beyond the tech LEF to keep its vias DRC-clean
    (docs/architecture.md, section 5): qrouter blocks the tracks beside a via on the via's
    upper layer only, and leaves a stack of vias with no wire on the layers between."""

    stacked_vias: int = Field(ge=1)  # vias stacked on one spot at most (1: none stacked)
    # layer -> µm by which a via and a wire on the neighbouring track count as too close
    # beyond qrouter's own check, so every shape on the layer blocks its neighbouring tracks
    via_wire_margin_um: dict[str, float] = Field(default_factory=dict)


class RouteRoom(_Strict):
    """Designs of more than ``cells`` synthesized cells are placed at ``utilization`` (%)
    instead of ``core_utilization``: the room qrouter needs to route them."""

    cells: int = Field(ge=1)
    utilization: float = Field(gt=0, le=100)


class CongestionFeedback(_Strict):
    """Designs of more than ``cells`` synthesized cells are placed twice: qrouter's first
    stage rates the first placement's congestion, and every cell above ``offset`` is widened
    by ``gain`` x (its congestion - offset) of its width for graywolf's second placement."""

    cells: int = Field(ge=1)
    offset: float = Field(ge=0, lt=1)
    gain: float = Field(gt=0)


class LayoutSettings(_Strict):
    """Place and route with graywolf and qrouter (docs/architecture.md, section 5), and the
    routing-layer rules of the DRC deck."""

    route_layers: int = Field(ge=1)  # qrouter's routing layers, counted from the lowest
    fill_cell: str
    tap_cell: str
    tap_pitch_um: float = Field(gt=0)  # longest distance between two well taps in a row
    stripes: PowerStripes
    pin_rail_clearance_um: float = Field(ge=0)  # I/O pins this far from the row rails
    rail_obstruction_um: float = Field(ge=0)  # li1 kept clear either side of each rail
    # the copies of a protected register bit at least this far apart, edge to edge (µm)
    tmr_min_separation_um: float = Field(ge=0)
    buffer_trees: BufferTrees
    router: RouterRules
    route_room: list[RouteRoom] = Field(default_factory=list)
    congestion_feedback: CongestionFeedback | None = None
    max_route_cells: int = Field(ge=1)  # larger designs stop after placement
    max_place_cells: int = Field(ge=1)  # larger designs get a floorplan estimate only
    # wire capacitance per µm of placement HPWL (fF/µm): parasitics of unrouted designs
    estimate_cap_ff_per_um: float = Field(gt=0)
    layers: list[RoutingLayer] = Field(min_length=1)
    cuts: list[CutLayer] = Field(default_factory=list)

    def utilization(self, cells: int, core_utilization: float) -> float:
        """The utilization (%) a design of ``cells`` synthesized cells is placed at."""
        above = [room for room in self.route_room if cells > room.cells]
        return max(above, key=lambda room: room.cells).utilization if above else core_utilization

    def feedback(self, cells: int) -> CongestionFeedback | None:
        """The congestion feedback a design of ``cells`` synthesized cells is placed with:
        none above ``max_route_cells``, which is not routed."""
        feedback = self.congestion_feedback
        wanted = feedback is not None and feedback.cells < cells <= self.max_route_cells
        return feedback if wanted else None

    @model_validator(mode="after")
    def _consistent(self) -> LayoutSettings:
        names = [layer.name for layer in self.layers]
        if self.route_layers > len(names):
            raise ValueError(
                f"route_layers is {self.route_layers} but only {len(names)} layers are listed"
            )
        for layer in self.router.via_wire_margin_um:
            if layer not in names:
                raise ValueError(f"router.via_wire_margin_um names unknown layer {layer!r}")
        for cut in self.cuts:
            for side in (cut.below, cut.above):
                if side not in names:
                    raise ValueError(f"cut {cut.name!r} names unknown layer {side!r}")
        return self


class PdkConfig(_Strict):
    name: str
    description: str
    lambdapdk: LambdaPdkRef
    corners: Corners = Corners()
    supply_pin: str
    ground_pin: str
    core_utilization: float = Field(gt=0, le=100)
    dont_use: list[str] = Field(default_factory=list)
    clock: ClockConstraints
    cells: CellRoles
    synthesis: SynthesisSettings
    layout: LayoutSettings | None = None  # without it, no place and route


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

    def tech_lef(self) -> Path:
        """The technology LEF: layers, vias, sites."""
        return Path(self.pdk.find_files("fileset", "views.lef", "file", "lef")[0])

    def magic_tech(self) -> Path | None:
        """Magic's technology file for DRC, the runset lambdapdk names; None without one."""
        for fileset in self.pdk.get("pdk", "drc", "runsetfileset", "magic", "basic") or []:
            found = self.pdk.find_files("fileset", fileset, "file", "tech")
            if found:
                return Path(found[0])
        return None

    def cell_lef(self) -> Path:
        """The standard cells' LEF."""
        return Path(self.library.find_files("fileset", "models.physical", "file", "lef")[0])

    def site(self) -> str:
        """The standard-cell placement site (its height is the row height)."""
        return self.library.get("asic", "site")[0]

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
    if data.name == DATAROOT:
        return data.parent
    # A folder of another name is reached through a link named as lambdapdk wants it.
    root = work / "pdk_data"
    root.mkdir(parents=True, exist_ok=True)
    link = root / DATAROOT
    if link.is_symlink():
        link.unlink()
    elif link.exists():
        shutil.rmtree(link)  # a copy of the data, left by copying a build folder
    link.symlink_to(data, target_is_directory=True)
    return root


def _check_data(pdk: Pdk, root: Path) -> None:
    try:
        for corner in {pdk.config.corners.timing, pdk.config.corners.power}:
            pdk.liberty(corner)
        pdk.sim_models()
        pdk.cell_lef()
        pdk.tech_lef()
    except FileNotFoundError as exc:
        missing = str(exc).split("Unable to locate", 1)[-1].strip(" '")
        raise PdkDataError(
            f"library data for {pdk.name} is incomplete in {(root / DATAROOT).resolve()} "
            f"({DATA_VARIABLE}): missing {missing}"
        ) from None
