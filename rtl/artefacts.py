"""The RTL stage's artefacts and their one loader, :func:`load`: what verification and the
ASIC flow read.

``<build>/rtl/design.json`` describes the generated design: top module, files in compile
order, port widths, latency, weight mode, TMR scope and every register bank (so a fault
injector can name the copies, see :mod:`econflow.rtl.naming`). ``register_map.json`` gives
the address, width and reset value of every configuration register.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from econflow.errors import ArtefactError

STAGE = "rtl"
DESIGN = "design.json"
FORMAT_NAME = "econflow-rtl"
FORMAT_VERSION = 2
REGISTER_MAP_FORMAT = "econflow-register-map"
REGISTER_MAP_VERSION = 1

RegisterKind = Literal["config", "pipeline", "status"]
WeightMode = Literal["programmable", "hardwired"]
TmrScope = Literal["none", "config", "full"]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Ports(_Doc):
    """Widths of the top module's ports (bits); 0 where the port does not exist."""

    charge_bits: int  # per trigger cell on ``charges``
    n_tc: int
    latent_size: int
    latent_bits: int  # of a latent value in the model
    output_bits: int  # of a latent value on ``latent`` (its most significant bits)
    sum_bits: int  # ``module_sum``
    address_bits: int  # ``cfg_addr``
    data_bits: int  # ``cfg_wdata`` / ``cfg_rdata``
    error_count_bits: int  # ``tmr_error_count``


class RegisterBank(_Doc):
    """A register of the design; ``protected`` ones are held in three copies. ``instance``
    is the path of its register primitive from the top module, ``/`` between levels."""

    name: str
    width: int
    kind: RegisterKind
    protected: bool
    instance: str


class RtlDescription(_Doc):
    """The content of ``design.json``."""

    format: Literal["econflow-rtl"]
    version: Literal[2]
    econflow_version: str
    source: str  # the quantized model file it was generated from
    top: str
    files: list[str]  # in compile order, relative to the description
    latency_cycles: int
    points: list[str] = []  # every place a pipeline register can go, in datapath order
    pipeline: list[str]  # the registered pipeline points, the outputs last
    weights: WeightMode
    tmr: TmrScope
    ports: Ports
    registers: list[RegisterBank]
    register_map: str | None = None
    weight_image: str | None = None
    load_sequence: str | None = None
    scrub_interval: int = 1  # cycles between clock ticks of the gated configuration registers
    cell_models: list[str] = []  # of ``files``: simulation models of PDK cells, not synthesized


class MappedRegister(_Doc):
    """One configuration register: a weight or a bias in two's complement."""

    address: int
    name: str
    layer: str
    role: Literal["weight", "bias"]
    index: list[int]
    width: int
    signed: bool
    reset: int
    access: Literal["rw"]
    tmr: bool


class RegisterMap(_Doc):
    """The content of ``register_map.json``."""

    format: Literal["econflow-register-map"]
    version: Literal[1]
    econflow_version: str
    top: str
    address_width: int
    data_width: int
    unmapped: str
    write: str
    in_flight: str  # what a write does to the inferences in the pipeline
    read: str
    tmr: TmrScope
    self_correction_cycles: int | None  # at most, after an upset: the scrub interval
    registers: list[MappedRegister]


_D = TypeVar("_D", bound=_Doc)


@dataclass(frozen=True)
class RtlDesign:
    """The validated ``design.json`` of a generated design, with its paths resolved."""

    directory: Path
    description: RtlDescription

    @property
    def top(self) -> str:
        return self.description.top

    @property
    def files(self) -> list[Path]:
        return [self.directory / f for f in self.description.files]

    @property
    def synthesis_files(self) -> list[Path]:
        """The files synthesis reads: the PDK's own cells replace their models."""
        return [self.directory / f for f in self.description.files if f not in self.cell_models]

    @property
    def cell_models(self) -> list[str]:
        return self.description.cell_models

    @property
    def ports(self) -> Ports:
        return self.description.ports

    @property
    def latency_cycles(self) -> int:
        return self.description.latency_cycles

    @property
    def output_bits(self) -> int:
        return self.description.ports.output_bits

    @property
    def programmable(self) -> bool:
        return self.description.weights == "programmable"

    @property
    def registers(self) -> list[RegisterBank]:
        return self.description.registers

    @property
    def protected_registers(self) -> dict[str, int]:
        """Register banks held in three copies -> width (bits)."""
        return {r.name: r.width for r in self.registers if r.protected}

    @property
    def register_bits(self) -> int:
        """Bits of state the design holds (each protected bit once)."""
        return sum(r.width for r in self.registers)

    @property
    def protected_bits(self) -> int:
        return sum(self.protected_registers.values())

    @property
    def flip_flops(self) -> int:
        """Physical flip-flops: three per protected bit, one per other bit."""
        return self.register_bits + 2 * self.protected_bits

    @property
    def weight_image(self) -> Path | None:
        name = self.description.weight_image
        return self.directory / name if name else None

    def register_map(self) -> RegisterMap | None:
        """The configuration registers; None when the weights are hardwired."""
        name = self.description.register_map
        if name is None:
            return None
        return _read(self.directory / name, RegisterMap, "register map")

    def load_image(self) -> list[int] | None:
        """The trained model's weight words, checked against the register map; None when
        the weights are hardwired."""
        regmap = self.register_map()
        if self.weight_image is None or regmap is None:
            return None
        from econflow.rtl.regmap import read_image

        return read_image(self.weight_image, regmap)


def _read(path: Path, model: type[_D], what: str) -> _D:
    try:
        doc = json.loads(path.read_text())
    except OSError as exc:
        raise ArtefactError(path, f"cannot read the {what} ({exc.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtefactError(path, f"not JSON ({exc})") from None
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(part) for part in err["loc"]) or "the document"
        raise ArtefactError(path, f"not an econflow {what}: {key}: {err['msg']}") from None


def directory(build_dir: Path) -> Path:
    return Path(build_dir) / STAGE


def load(build_dir: str | Path) -> RtlDesign:
    """The generated design of a build directory.

    Raises:
        ArtefactError: no design (the rtl step has not run), another format, or a listed
            Verilog file is missing.
    """
    folder = directory(Path(build_dir))
    path = folder / DESIGN
    if not path.is_file():
        raise ArtefactError(path, "no generated RTL (run the rtl step)")
    design = RtlDesign(folder, _read(path, RtlDescription, f"{FORMAT_NAME} v{FORMAT_VERSION}"))
    missing = [f for f in design.files if not f.is_file()]
    if missing:
        raise ArtefactError(missing[0], f"listed in {path} but missing (rerun the rtl step)")
    return design


def listed(build_dir: str | Path) -> list[Path]:
    """The design description and the Verilog files it lists, present or not: what later steps
    read (a missing one is for provenance to name, with the step that writes it)."""
    folder = directory(Path(build_dir))
    path = folder / DESIGN
    try:
        description = _read(path, RtlDescription, f"{FORMAT_NAME} v{FORMAT_VERSION}")
    except ArtefactError:
        return [path]
    return [path, *RtlDesign(folder, description).files]
