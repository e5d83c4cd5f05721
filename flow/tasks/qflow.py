"""What the graywolf and qrouter tasks share: qflow's helper scripts and programs, the layout
settings file the econflow step writes for them, and running a helper with a log.

qflow (Debian package) ships the Tcl scripts that translate between its tools' formats
(``blif2cel``, ``decongest``, ``place2def``, ``addspacers``, ``arrangepins``) and ``rc2dly``,
which turns qrouter's RC trees into SDF. They are not on PATH.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from econflow import tools
from econflow.errors import ToolMissingError
from econflow.flow.buffering import ClockDelays
from econflow.pdk import CongestionFeedback, LayoutSettings
from econflow.rtl.artefacts import RegisterBank

QFLOW_HOMES = (Path("/usr/lib/qflow"), Path("/usr/local/lib/qflow"), Path("/usr/share/qflow"))
INSTANCES = "instances.tsv"  # placed instance name -> synthesized name, one per line


class Settings(BaseModel):
    """Everything the layout tasks read besides their input files (written as JSON)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pdk: str
    tech_lef: str
    cell_lef: str
    site: str
    utilization: float  # fraction of the core the cells fill
    power_pins: tuple[str, str]  # supply, ground
    layout: LayoutSettings  # the PDK config's layout section
    protected: tuple[RegisterBank, ...] = ()  # the registers whose copies are kept apart
    clock_delays: ClockDelays | None = None  # to balance the clock trees through clock gates
    congestion_feedback: CongestionFeedback | None = None  # a second placement for this design

    def write(self, path: Path) -> Path:
        """Write the file, leaving it untouched when unchanged (SiliconCompiler reruns a
        node whose input file changed date)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        text = self.model_dump_json(indent=2) + "\n"
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
        return path

    @classmethod
    def read(cls, path: str | Path) -> Settings:
        return cls.model_validate_json(Path(path).read_text())


def read_instances(path: Path) -> dict[str, str]:
    """Placed instance name -> synthesized name, from the place task's map."""
    return dict(line.split("\t") for line in path.read_text().splitlines())


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


def script(name: str, *args: str | Path | float, log: Path) -> str:
    """Run qflow's Tcl script ``name`` with ``tclsh``; its output goes to ``log``."""
    return tools.run(["tclsh", str(home() / "scripts" / name), *map(str, args)], log, name)


def program(name: str, *args: str | Path, log: Path) -> str:
    """Run one of qflow's programs (``rc2dly``)."""
    return tools.run([str(home() / "bin" / name), *map(str, args)], log, name)
