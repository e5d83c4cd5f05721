"""C simulation of an hls4ml project against the fixed-point model."""

from __future__ import annotations

from typing import Any

import numpy as np

from econflow.models import fixedpoint
from econflow.models.quantized import QuantizedModel


def compare(hls_model: Any, model: QuantizedModel, charges: np.ndarray) -> dict[str, Any]:
    """Latent integers of the C simulation vs the golden model, on the same charges.

    A sample mismatches when any latent value differs or is off the latent grid.
    """
    golden = fixedpoint.evaluate(model, charges)
    x = np.ascontiguousarray(fixedpoint.real_input(model, charges))
    scaled = np.asarray(hls_model.predict(x), dtype=np.float64).reshape(len(charges), -1)
    scaled *= 2.0**model.latent.frac
    csim = np.rint(scaled).astype(np.int64)
    wrong = np.flatnonzero((csim != golden).any(axis=1) | (csim != scaled).any(axis=1))
    return {
        "samples": int(len(charges)),
        "mismatches": int(len(wrong)),
        "first_mismatch": int(wrong[0]) if len(wrong) else None,
    }
