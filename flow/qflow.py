"""What the graywolf and qrouter tasks share: qflow's helper scripts and programs, the layout
settings file the econflow step writes for them, and running a helper with a log.

qflow (Debian package) ships the Tcl scripts that translate between its tools' formats
(``blif2cel``, ``decongest``, ``place2def``, ``addspacers``, ``arrangepins``) and ``rc2dly``,
which turns qrouter's RC trees into SDF. They are not on PATH.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from econflow import tools
from econflow.errors import ToolMissingError

QFLOW_HOMES = (Path("/usr/lib/qflow"), Path("/usr/local/lib/qflow"), Path("/usr/share/qflow"))
SETTINGS = "layout_settings.json"


@dataclass(frozen=True)
class Settings:
    """Everything the layout tasks read besides their input files (written as JSON)."""

    pdk: str
    tech_lef: str
    cell_lef: str
    site: str
    utilization: float  # fraction of the core the cells fill
    power_pins: tuple[str, str]  # supply, ground
    layout: dict[str, Any]  # the PDK config's layout section

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
        return path

    @classmethod
    def read(cls, path: str | Path) -> Settings:
        doc = json.loads(Path(path).read_text())
        doc["power_pins"] = tuple(doc["power_pins"])
        return cls(**doc)


def home() -> Path:
    """qflow's installation folder (holding ``scripts/`` and ``bin/``)."""
    for folder in QFLOW_HOMES:
        if (folder / "scripts" / "blif2cel.tcl").is_file():
            return folder
    raise ToolMissingError(
        "qflow's scripts (blif2cel.tcl, place2def.tcl, ...) not found in "
        f"{', '.join(str(f) for f in QFLOW_HOMES)}: place and route need them (Debian package "
        f"qflow); {tools.INSTALL_HINT}"
    )


def script(name: str, *args: str | Path, log: Path) -> str:
    """Run qflow's Tcl script ``name`` with ``tclsh``; its output goes to ``log``."""
    return tools.run(["tclsh", str(home() / "scripts" / name), *map(str, args)], log, name)


def program(name: str, *args: str | Path, log: Path) -> str:
    """Run one of qflow's programs (``rc2dly``)."""
    return tools.run([str(home() / "bin" / name), *map(str, args)], log, name)
