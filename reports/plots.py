"""The report's figures, drawn from the typed results (PNG files beside the report, named by
paths relative to it)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from econflow.flow.results import CornerTiming, PowerComponents, SynthResult  # noqa: E402
from econflow.models import plots as model_plots  # noqa: E402
from econflow.models.results import EmdHistogram, EmdProfile  # noqa: E402


def _save(fig: plt.Figure, path: Path) -> str:
    return _relative(model_plots.save(fig, path, dpi=100))


def _relative(path: Path) -> str:
    """The figure's path from the report beside its folder."""
    return f"{path.parent.name}/{path.name}"


def emd_histogram(histogram: EmdHistogram, path: Path) -> str:
    model_plots.emd_histograms(histogram, path)
    return _relative(path)


def emd_vs_occupancy(profile: EmdProfile, path: Path) -> str:
    model_plots.emd_vs_occupancy(profile, path)
    return _relative(path)


def area_split(synth: SynthResult, path: Path) -> str:
    ff = synth.flip_flop_area_um2
    copies = synth.tmr_copy_area_um2
    parts = {
        "logic": synth.area_um2 - ff,
        "flip-flops (unprotected and first copies)": ff - copies,
        "TMR copies 2 and 3": copies,
    }
    fig, ax = plt.subplots(figsize=(7, 2.8))
    left = 0.0
    for name, value in parts.items():
        ax.barh([0], [value / 1e6], left=left, label=f"{name}: {value / 1e6:.4f} mm²")
        left += value / 1e6
    ax.set(xlabel="cell area (mm²)", yticks=[])
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.45), ncol=1, fontsize=8)
    return _save(fig, path)


def clock(corners: dict[str, CornerTiming], target_mhz: float, path: Path) -> str:
    fig, ax = plt.subplots(figsize=(6, 3))
    names = list(corners)
    values = [corners[n].fmax_mhz for n in names]
    colours = ["tab:green" if corners[n].meets else "tab:red" for n in names]
    ax.bar(names, values, color=colours)
    ax.axhline(target_mhz, color="k", ls="--", label=f"target {target_mhz:g} MHz")
    ax.set(ylabel="achievable clock (MHz)")
    ax.legend(loc="lower right")
    return _save(fig, path)


def power_split(groups: dict[str, PowerComponents], path: Path) -> str:
    fig, ax = plt.subplots(figsize=(6, 3))
    names = ["sequential", "combinational"]
    bottom = [0.0, 0.0]
    for component in ("internal", "switching", "leakage"):
        values = [getattr(groups[n], component) for n in names]
        ax.bar(names, values, bottom=bottom, label=component)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set(ylabel="power (mW)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _save(fig, path)


def power_blocks(blocks: dict[str, PowerComponents], path: Path) -> str:
    """Each block's power, split into internal, switching and leakage, largest first."""
    names = sorted(blocks, key=lambda b: blocks[b].total)
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(names) + 1.2))
    left = [0.0] * len(names)
    for component in ("internal", "switching", "leakage"):
        values = [getattr(blocks[n], component) for n in names]
        ax.barh(names, values, left=left, label=component)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set(xlabel="power (mW)")
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def runtimes(seconds: dict[str, float], path: Path) -> str:
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(seconds) + 1))
    names = list(seconds)
    ax.barh(names, [seconds[n] for n in names], color="tab:blue")
    ax.invert_yaxis()
    ax.set(xlabel="seconds")
    return _save(fig, path)
