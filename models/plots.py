"""Figures of the models stage, written as PNG files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def save(fig: plt.Figure, path: Path, dpi: int = 110) -> Path:
    """Write a figure as PNG (creating the folder) and close it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def data_distributions(occupancy: np.ndarray, sums: np.ndarray, path: Path) -> Path:
    """Occupancy (TCs > 0) and module-sum (ADC) distributions of the dataset."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.hist(occupancy, bins=np.arange(50) - 0.5, color="tab:blue")
    left.set(xlabel="occupancy (trigger cells with charge)", ylabel="modules", yscale="log")
    live = sums[sums > 0]
    bins = np.logspace(0, np.log10(max(live.max(), 10)), 60) if live.size else 10
    right.hist(live, bins=bins, color="tab:orange")
    right.set(xlabel="module sum (ADC)", ylabel="modules", xscale="log", yscale="log")
    fig.suptitle(f"{len(occupancy)} modules")
    return save(fig, path)


def predicted_vs_true(predicted: np.ndarray, true: np.ndarray, min_emd: float, path: Path) -> Path:
    """EMD-CNN estimate against exact EMD on held-out pairs, with the relative error of the
    pairs above ``min_emd`` (the figure quoted in the metrics)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    top = float(max(true.max(), predicted.max()))
    left.hist2d(true, predicted, bins=80, range=[[0, top], [0, top]], cmap="viridis", cmin=1)
    left.plot([0, top], [0, top], "r--", lw=1)
    left.set(xlabel="exact EMD (small-cell units)", ylabel="EMD-CNN estimate")
    keep = true > min_emd
    rel = (predicted[keep] - true[keep]) / true[keep]
    right.hist(np.clip(rel, -0.5, 0.5), bins=100, color="tab:green")
    right.set(
        xlabel=f"(estimate - exact) / exact, exact EMD > {min_emd:g}",
        ylabel="pairs",
        title=f"mean {rel.mean():+.4f}, std {rel.std():.4f}",
    )
    return save(fig, path)


def emd_histograms(histogram: dict[str, Any], path: Path) -> Path:
    """EMD distributions of the autoencoder and the baselines (``profiles.emd_histogram``)."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    edges = np.array(histogram["edges"])
    for name, counts in histogram["counts"].items():
        label = f"{name} ({histogram['mean'][name]:.3f})"
        ax.stairs(counts, edges, lw=1.5, label=label)
    ax.set(xlabel="EMD (small-cell units)", ylabel="modules", yscale="log")
    ax.legend(title="algorithm (mean EMD)")
    return save(fig, path)


def emd_vs_occupancy(profile: dict[str, Any], path: Path) -> Path:
    """Median EMD and the 16-84% band against occupancy (``profiles.emd_vs_occupancy``)."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    centres = profile["centres"]
    upper = 0.0
    for name, median in profile["median"].items():
        values = [np.nan if v is None else v for v in median]
        low = [np.nan if v is None else v for v in profile["p16"][name]]
        high = [np.nan if v is None else v for v in profile["p84"][name]]
        line = ax.plot(centres, values, marker="o", label=name)[0]
        ax.fill_between(centres, low, high, color=line.get_color(), alpha=0.15)
        if name == "autoencoder":
            upper = float(np.nanmax(high))
    # Scale to the autoencoder's band; a baseline that sends nothing scores far above it.
    ax.set(xlabel="occupancy (trigger cells with charge)", ylabel="EMD (small-cell units)")
    ax.set_ylim(0, 2.0 * upper if upper > 0 else None)
    ax.legend()
    return save(fig, path)


def training_curve(history: dict[str, list[float]], path: Path) -> Path:
    """Training and validation loss per epoch."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, values in history.items():
        if "loss" in key:
            ax.plot(np.arange(1, len(values) + 1), values, label=key)
    ax.set(xlabel="epoch", ylabel="loss", yscale="log")
    ax.legend()
    return save(fig, path)
