"""Figures of the models stage, written as PNG files."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from econflow.models.results import EmdHistogram, EmdProfile  # noqa: E402

MARKERS = ("o", "s", "^", "v", "D", "x")


def save(fig: plt.Figure, path: Path, dpi: int = 110) -> Path:
    """Write a figure as PNG (creating the folder) and close it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def data_distributions(
    occupancy: np.ndarray, sums_mip: np.ndarray, decay_mip: float, path: Path
) -> Path:
    """Occupancy (TCs > 0) and module-sum (MIP_T) distributions of the dataset, the sum with
    the exponential of the fitted decay length over 0-43 MIP_T (the real ECON-T inputs: 18)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.hist(occupancy, bins=np.arange(50) - 0.5, color="tab:blue")
    left.set(xlabel="occupancy (trigger cells with charge)", ylabel="modules")
    counts, edges, _ = right.hist(sums_mip, bins=75, range=(0, 150), color="tab:orange")
    fit = (edges[:-1] + edges[1:]) / 2 <= 43
    if np.isfinite(decay_mip) and counts[fit].sum() > 0:
        x = np.linspace(0, 43, 50)
        scale = counts[fit].sum() / np.exp(-edges[:-1][fit] / decay_mip).sum()
        right.plot(x, scale * np.exp(-x / decay_mip), "k--", label=f"decay {decay_mip:.1f} MIP_T")
        right.legend()
    right.set(xlabel="module sum (MIP_T)", ylabel="modules", yscale="log")
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


def emd_histograms(histogram: EmdHistogram, path: Path) -> Path:
    """EMD distributions of the autoencoder and the baselines (``profiles.emd_histogram``).

    Algorithms whose histograms coincide (baselines that send nothing all score the empty-map
    EMD) are drawn once, with their names together in the legend, so none hides another.
    """
    fig, ax = plt.subplots(figsize=(7, 4.5))
    edges = np.array(histogram.edges)
    for names, counts in _same_curves(histogram.counts).items():
        means = " / ".join(f"{histogram.mean[n]:.3f}" for n in names)
        ax.stairs(counts, edges, lw=1.5, label=f"{' = '.join(names)} ({means})")
    ax.set(xlabel="EMD (small-cell units)", ylabel="modules", yscale="log")
    ax.legend(title="algorithm (mean EMD)", fontsize=8)
    return save(fig, path)


def _same_curves(curves: dict[str, list[int]]) -> dict[tuple[str, ...], list[int]]:
    """Curves keyed by the names of every algorithm that has exactly that curve."""
    grouped: dict[tuple[int, ...], list[str]] = {}
    for name, values in curves.items():
        grouped.setdefault(tuple(values), []).append(name)
    return {tuple(names): list(values) for values, names in grouped.items()}


def emd_vs_occupancy(profile: EmdProfile, path: Path) -> Path:
    """Mean EMD and the 16-84% band against occupancy (``profiles.emd_vs_occupancy``).

    Algorithms with the same means are drawn once with their names together; each gets its
    own marker so that close curves stay apart.
    """
    fig, ax = plt.subplots(figsize=(7, 4.5))
    centres = profile.centres
    upper = 0.0
    means = {n: [np.nan if v is None else v for v in m] for n, m in profile.mean.items()}
    for k, names in enumerate(_same_curves(means)):
        first = names[0]
        low = [np.nan if v is None else v for v in profile.p16[first]]
        high = [np.nan if v is None else v for v in profile.p84[first]]
        style = {"marker": MARKERS[k % len(MARKERS)], "ls": "-" if k == 0 else "--"}
        line = ax.plot(centres, means[first], label=" = ".join(names), **style)[0]
        ax.fill_between(centres, low, high, color=line.get_color(), alpha=0.15)
        if "autoencoder" in names:
            upper = float(np.nanmax(high))
    # Scale to the autoencoder's band; a baseline that sends nothing scores far above it.
    ax.set(xlabel="occupancy (trigger cells with charge)", ylabel="mean EMD (small-cell units)")
    ax.set_ylim(0, 2.0 * upper if upper > 0 else None)
    ax.legend(fontsize=8)
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
