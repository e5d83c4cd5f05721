"""HGCAL trigger-cell geometry and the ECON-T 8x8 image layout (package data)."""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

import numpy as np

from econflow.architecture import CHANNELS, IMAGE_SIDE

N_TC = 48
N_ROC = 3
TC_PER_ROC = 16
SMALL_CELL_CM = 1.2084
# Area of one trigger cell: a hexagonal tiling with 2.4168 cm between neighbouring centres.
TC_AREA_CM2 = (np.sqrt(3.0) / 2.0) * (2 * SMALL_CELL_CM) ** 2


def _read(name: str) -> list[dict[str, str]]:
    with resources.files("econflow.models").joinpath("data", name).open() as handle:
        return list(csv.DictReader(handle))


@cache
def tc_centres_cm() -> np.ndarray:
    """Trigger-cell centres, float64 (48, 2), in cm, indexed by TC number."""
    rows = _read("hgcal_tc_geometry.csv")
    xy = np.zeros((N_TC, 2))
    for row in rows:
        xy[int(row["tc"])] = float(row["x_cm"]), float(row["y_cm"])
    return xy


def tc_centres() -> np.ndarray:
    """Trigger-cell centres, float64 (48, 2), in small-cell units (the field's EMD unit)."""
    return tc_centres_cm() / SMALL_CELL_CM


@cache
def tc_distances() -> np.ndarray:
    """Ground distances between trigger cells, float64 (48, 48), in small-cell units."""
    xy = tc_centres()
    return np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))


@cache
def econt_layout() -> tuple[np.ndarray, np.ndarray]:
    """The ECON-T 8x8 arrangement.

    Returns:
        ``(pixel_tc, pixel_used)``: int64 (64,) TC held by each row-major pixel and bool (64,)
        whether the pixel is used; unused pixels are zero in the image.
    """
    pixel_tc = np.zeros(IMAGE_SIDE * IMAGE_SIDE, dtype=np.int64)
    used = np.zeros(IMAGE_SIDE * IMAGE_SIDE, dtype=bool)
    for row in _read("econt_8x8_layout.csv"):
        pixel = IMAGE_SIDE * int(row["row"]) + int(row["col"])
        pixel_tc[pixel] = int(row["tc"])
        used[pixel] = row["used"] == "1"
    return pixel_tc, used


def to_image(values: np.ndarray) -> np.ndarray:
    """Lay (N, 48) trigger-cell values into (N, 8, 8, 1) images, unused pixels zero."""
    pixel_tc, used = econt_layout()
    image = values[:, pixel_tc] * used
    return image.reshape(-1, IMAGE_SIDE, IMAGE_SIDE, CHANNELS)


def to_roc_blocks(values: np.ndarray) -> np.ndarray:
    """Arrange (N, 48) values as (N, 4, 4, 3): one channel per readout chip, 4x4 TCs each.

    TC ``16*b + 4*i + j`` goes to row ``i``, column ``j`` of channel ``b``, which keeps
    neighbouring cells of a chip's block neighbours in the image (the EMD-CNN's input).
    """
    return values.reshape(-1, N_ROC, 4, 4).transpose(0, 2, 3, 1)


def supercell_groups(size: int) -> np.ndarray:
    """Non-overlapping ``size`` x ``size`` groups of TCs inside each chip block.

    Returns:
        int64 (groups, size*size) TC indices.
    """
    groups = []
    for roc in range(N_ROC):
        for gi in range(0, 4, size):
            for gj in range(0, 4, size):
                groups.append(
                    [16 * roc + 4 * (gi + i) + (gj + j) for i in range(size) for j in range(size)]
                )
    return np.asarray(groups, dtype=np.int64)


@cache
def boundary_windows() -> np.ndarray:
    """2x2 windows straddling the boundaries between readout chips, from the cell positions.

    Along each of the three chip-to-chip boundaries, the cells facing each other across it
    form pairs; two consecutive pairs make a window (ECON-T's telescope loss adds these to
    the 27 windows inside the chips).

    Returns:
        int64 (windows, 4) TC indices.
    """
    d = tc_distances()
    chip = np.arange(N_TC) // TC_PER_ROC
    across = chip[:, None] != chip[None, :]
    touching = across & (d <= 1.05 * d[across].min())
    windows = []
    for a, b in ((0, 1), (1, 2), (0, 2)):
        pairs = np.argwhere(touching & (chip[:, None] == a) & (chip[None, :] == b))
        middle = tc_centres()[pairs].mean(axis=1)
        along = middle @ (middle[-1] - middle[0])
        pairs = pairs[np.argsort(along)]
        windows += [[*pairs[k], *pairs[k + 1]] for k in range(len(pairs) - 1)]
    return np.asarray(windows, dtype=np.int64)
