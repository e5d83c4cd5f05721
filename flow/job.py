"""The implementation job of one design: where the flow and layout stages write, the
SiliconCompiler project every implementation step runs in, and the liberty files of the
corners timing and power are analysed at."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from econflow import pdk as pdk_configs
from econflow.config import Config
from econflow.flow.project import Project, write_sdc
from econflow.flow.results import FlowMetrics, LayoutMetrics
from econflow.flow.tasks.graywolf import BUFFERS
from econflow.flow.tasks.qflow import INSTANCES
from econflow.pdk import Pdk, open_pdk
from econflow.rtl import artefacts as rtl_artefacts
from econflow.rtl.artefacts import RtlDesign

ACTIVITY = "activity.tsv"


@dataclass(frozen=True)
class FlowPaths:
    """What the implementation steps write under ``<build>/flow/`` (absolute: SiliconCompiler
    runs each tool in its own folder)."""

    out: Path
    netlist: Path  # the synthesized netlist
    sdc: Path  # the constraints
    activity: Path  # gate-level toggles per cell

    @property
    def liberty(self) -> Path:
        """Folder of the liberty files prepared for OpenSTA."""
        return self.out / "liberty"

    @property
    def activity_halves(self) -> tuple[Path, Path]:
        """The toggles of the first and of the second half of the vectors, apart."""
        return self.activity.with_suffix(".half1.tsv"), self.activity.with_suffix(".half2.tsv")


@dataclass(frozen=True)
class LayoutPaths:
    """What the layout steps write under ``<build>/layout/``."""

    out: Path
    placed: Path  # placed DEF
    routed: Path  # routed DEF
    netlist: Path  # the netlist under the placed instance names
    instances: Path  # placed instance name -> synthesized name
    buffers: Path  # the buffer trees' buffers
    gds: Path
    png: Path
    drc: Path  # KLayout's report database


def flow_paths(cfg: Config, build: Path) -> FlowPaths:
    top = cfg.design.design.top
    out = build.resolve() / FlowMetrics.STAGE
    return FlowPaths(out, out / f"{top}.vg", out / f"{top}.sdc", out / ACTIVITY)


def layout_paths(cfg: Config, build: Path) -> LayoutPaths:
    top = cfg.design.design.top
    out = build.resolve() / LayoutMetrics.STAGE
    return LayoutPaths(
        out=out,
        placed=out / f"{top}.placed.def",
        routed=out / f"{top}.routed.def",
        netlist=out / f"{top}.layout.v",
        instances=out / INSTANCES,
        buffers=out / BUFFERS,
        gds=out / f"{top}.gds.gz",
        png=out / f"{top}.png",
        drc=out / f"{top}.drc.lyrdb",
    )


def project_for(cfg: Config, build: Path) -> tuple[RtlDesign, Pdk, Project]:
    """The design's SiliconCompiler project (one job for every implementation step)."""
    design = rtl_artefacts.load(build)
    paths = flow_paths(cfg, build)
    pdk = open_pdk(cfg, paths.out)
    sdc = write_sdc(paths.sdc, design, pdk, cfg.design.hardware)
    return design, pdk, Project(design, pdk, sdc, paths.out)


def timing_corners(pdk: Pdk, paths: FlowPaths) -> list[tuple[str, Path]]:
    """The corners setup timing is reported at, with their prepared liberty files."""
    corners = [pdk.config.corners.timing, pdk.config.corners.typical_timing]
    return [(c, pdk.prepared_liberty(c, paths.liberty)) for c in dict.fromkeys(corners)]


def power_liberty(pdk: Pdk, paths: FlowPaths) -> Path:
    """The prepared liberty of the power corner."""
    return pdk.prepared_liberty(pdk.config.corners.power, paths.liberty)


def pdk_config_file(cfg: Config) -> Path:
    """The PDK config file: every implementation step's input, so editing it reruns them."""
    return pdk_configs.load_config(cfg)[1]
