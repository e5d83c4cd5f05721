"""The RTL stage's artefacts and their one loader, :func:`load`: what verification and the
ASIC flow read.

``<build>/rtl/design.json`` describes the generated design: top module, files in compile
order, port widths, latency, weight mode, TMR scope and every register bank (so a fault
injector can name the copies: instance ``r_<name>``, copies ``copy_a/b/c`` when protected).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from econflow.errors import ArtefactError
from econflow.rtl import regmap

STAGE = "rtl"
DESIGN = "design.json"
FORMAT_NAME = "econflow-rtl"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class RtlDesign:
    """The validated content of ``design.json``, with paths resolved."""

    directory: Path
    doc: dict[str, Any]

    @property
    def top(self) -> str:
        return str(self.doc["top"])

    @property
    def files(self) -> list[Path]:
        return [self.directory / f for f in self.doc["files"]]

    @property
    def latency_cycles(self) -> int:
        return int(self.doc["latency_cycles"])

    @property
    def output_bits(self) -> int:
        return int(self.doc["ports"]["output_bits"])

    @property
    def protected_registers(self) -> dict[str, int]:
        """Register banks held in three copies -> width (bits)."""
        return {r["name"]: int(r["width"]) for r in self.doc["registers"] if r["protected"]}

    @property
    def register_map(self) -> Path | None:
        name = self.doc.get("register_map")
        return self.directory / name if name else None

    @property
    def weight_image(self) -> Path | None:
        name = self.doc.get("weight_image")
        return self.directory / name if name else None

    def load_image(self) -> list[int] | None:
        """The trained model's weight words, checked against the register map; None when
        the weights are hardwired."""
        if self.weight_image is None or self.register_map is None:
            return None
        return regmap.read_image(self.weight_image, json.loads(self.register_map.read_text()))


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
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ArtefactError(path, f"not JSON ({exc.msg})") from None
    if doc.get("format") != FORMAT_NAME or doc.get("version") != FORMAT_VERSION:
        raise ArtefactError(path, f"not an {FORMAT_NAME} v{FORMAT_VERSION} description")
    design = RtlDesign(folder, doc)
    missing = [f for f in design.files if not f.is_file()]
    if missing:
        raise ArtefactError(missing[0], f"listed in {path} but missing (rerun the rtl step)")
    return design
