"""HGCAL-like module charge maps: a seeded synthetic generator and the field's CSV format.

Charges are integer ADC-like counts per trigger cell, int32 arrays of shape (N, 48).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from econflow.config import DataSection, GeneratorSection
from econflow.errors import DataError
from econflow.models.geometry import N_TC, SMALL_CELL_CM, TC_AREA_CM2, tc_centres_cm

CSV_COLUMNS = [f"CALQ_{i}" for i in range(N_TC)]
_CHUNK = 50_000
# Offsets (cm) of 7 points sampling one hexagonal trigger cell: centre and a ring at 0.6 pitch/2.
_RING = 0.6 * SMALL_CELL_CM
_CELL_POINTS = np.array(
    [[0.0, 0.0]] + [[_RING * math.cos(a), _RING * math.sin(a)] for a in np.arange(6) * math.pi / 3]
)


def generate(n: int, data: DataSection, seed: int | None = None) -> np.ndarray:
    """Synthetic modules: pileup hits falling with radius, electromagnetic showers, noise and
    zero suppression (``econflow.config.GeneratorSection``).

    Args:
        n: number of modules.
        data: the design's data section (generator parameters and charge bit width).
        seed: overrides ``data.seed``.

    Returns:
        int32 (n, 48) charges in ADC counts, each in ``[0, 2**charge_bits - 1]``.
    """
    rng = np.random.default_rng(data.seed if seed is None else seed)
    out = np.empty((n, N_TC), dtype=np.int32)
    max_adc = 2**data.charge_bits - 1
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        mip = _modules_mip(stop - start, data.generator, rng)
        adc = np.rint(mip * data.mip_adc)
        adc[mip < data.generator.zero_suppression_mip] = 0
        out[start:stop] = np.clip(adc, 0, max_adc)
    return out


def _modules_mip(n: int, g: GeneratorSection, rng: np.random.Generator) -> np.ndarray:
    inner, outer = g.radius_cm
    radius = np.sqrt(rng.uniform(inner**2, outer**2, n))  # even over the layer's area
    sin_theta = radius / np.hypot(radius, g.z_cm)
    spread = rng.lognormal(-(g.pileup_spread**2) / 2, g.pileup_spread, n)  # mean one
    falloff = (g.pileup_reference_cm / radius) ** g.pileup_radial_power
    hits_per_tc = g.pileup_hits * falloff * spread
    hits = rng.poisson(hits_per_tc[:, None], size=(n, N_TC))
    # the sum of k exponential energies is Gamma(k)
    energy = np.where(hits > 0, rng.gamma(np.maximum(hits, 1), g.hit_mip), 0.0)
    mip = energy * sin_theta[:, None]
    has = np.flatnonzero(rng.random(n) < g.shower_probability)
    mip[has] += _showers(len(has), g, rng)
    if g.noise_mip > 0:
        mip += rng.normal(0.0, g.noise_mip, size=mip.shape)
    return mip


def _showers(n: int, g: GeneratorSection, rng: np.random.Generator) -> np.ndarray:
    """Energy (MIP_T) deposited per TC by ``n`` showers with a Grindhammer-like profile.

    The radial density R^2 / (pi (r^2 + R^2)^2) per cm^2 integrates to one over the plane;
    each cell's share is its area times the density averaged over seven points of the cell.
    Showers near the module edge lose the part that falls outside.
    """
    xy = tc_centres_cm()
    centre = xy[rng.integers(0, N_TC, n)] + rng.uniform(-SMALL_CELL_CM, SMALL_CELL_CM, (n, 2))
    low, high = g.shower_energy_mip
    energy = np.exp(rng.uniform(math.log(low), math.log(high), n))
    radius2 = (g.shower_radius_cm * rng.uniform(0.8, 1.25, n)) ** 2
    points = xy[:, None, :] + _CELL_POINTS[None, :, :]
    d2 = ((points[None] - centre[:, None, None, :]) ** 2).sum(-1)
    density = radius2[:, None, None] / (math.pi * (d2 + radius2[:, None, None]) ** 2)
    share = density.mean(-1) * TC_AREA_CM2
    share /= np.maximum(1.0, share.sum(-1, keepdims=True))
    fluctuation = np.clip(1.0 + rng.normal(0.0, 0.1, share.shape), 0.0, None)
    return energy[:, None] * share * fluctuation


def load_csv(path: str | Path) -> np.ndarray:
    """Read a CALQ CSV: 48 columns ``CALQ_0``..``CALQ_47``, with or without a header line.

    Returns:
        int32 (N, 48) charges in TC order.

    Raises:
        DataError: naming the file, the line and what was wrong.
    """
    path = Path(path)
    try:
        handle = path.open(newline="")
    except OSError as exc:
        raise DataError(path, None, f"cannot read file ({exc.strerror})") from None
    rows: list[list[int]] = []
    order: list[int] | None = None
    with handle:
        for line, fields in enumerate(csv.reader(handle), start=1):
            if not fields or all(not f.strip() for f in fields):
                continue
            if line == 1 and not _is_number(fields[0]):
                order = _header_order(path, fields)
                continue
            rows.append(_parse_row(path, line, fields))
    if not rows:
        raise DataError(path, None, "no data rows")
    charges = np.asarray(rows, dtype=np.int32)
    if order is not None:
        charges = charges[:, np.argsort(order)]
    return charges


_INT32_MAX = np.iinfo(np.int32).max


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _header_order(path: Path, fields: list[str]) -> list[int]:
    names = [f.strip() for f in fields]
    if sorted(names) != sorted(CSV_COLUMNS) or len(names) != N_TC:
        unknown = sorted(set(names) - set(CSV_COLUMNS))
        missing = sorted(set(CSV_COLUMNS) - set(names), key=lambda c: int(c.split("_")[1]))
        detail = f"unknown {unknown[:3]}" if unknown else f"missing {missing[:3]}"
        raise DataError(path, 1, f"header must name CALQ_0..CALQ_47 once each ({detail})")
    return [int(name.split("_")[1]) for name in names]


def _parse_row(path: Path, line: int, fields: list[str]) -> list[int]:
    if len(fields) != N_TC:
        raise DataError(path, line, f"expected {N_TC} columns, got {len(fields)}")
    values = []
    for column, text in enumerate(fields):
        try:
            value = float(text)
        except ValueError:
            raise DataError(path, line, f"CALQ_{column} is not a number: {text!r}") from None
        if not math.isfinite(value) or value < 0 or value != int(value):
            raise DataError(
                path, line, f"CALQ_{column} must be a non-negative integer charge, got {text!r}"
            )
        if value > _INT32_MAX:
            raise DataError(path, line, f"CALQ_{column} = {text} exceeds the int32 range")
        values.append(int(value))
    return values


def occupancy(charges: np.ndarray) -> np.ndarray:
    """Number of non-zero trigger cells per module, int64 (N,)."""
    return (charges > 0).sum(axis=1)


def corner_cases(charge_bits: int) -> np.ndarray:
    """Modules that stress the arithmetic: empty, one hot cell, full scale, every shift.

    Returns:
        int32 (M, 48): an empty module; each TC alone at full scale; every TC at full scale;
        every TC at 1; and for each normalization shift s a module summing to 2**s and one
        summing to 2**(s + 1) - 1 (spread over as few cells as the charge width allows).
    """
    full = 2**charge_bits - 1
    rows = [np.zeros(N_TC, np.int64), np.full(N_TC, full), np.ones(N_TC, np.int64)]
    rows += list(np.eye(N_TC, dtype=np.int64) * full)
    for shift in range(int(np.floor(np.log2(full * N_TC))) + 1):
        for total in (2**shift, 2 ** (shift + 1) - 1):
            if total > full * N_TC:
                continue
            cells = np.zeros(N_TC, np.int64)
            count = -(-total // full)
            cells[:count] = total // count
            cells[: total - cells.sum()] += 1
            rows.append(np.roll(cells, 7 * shift))
    return np.asarray(rows, dtype=np.int32)
