"""C simulation of an hls4ml project against the fixed-point model."""

from __future__ import annotations

from typing import Any

import numpy as np

from econflow.models import fixedpoint
from econflow.models.quantized import QuantizedModel
from econflow.models.results import Comparison


def compare(hls_model: Any, model: QuantizedModel, charges: np.ndarray) -> Comparison:
    """Latent integers of the C simulation vs the golden model, on the same charges."""
    x = np.ascontiguousarray(fixedpoint.real_input(model, charges))
    return fixedpoint.compare(fixedpoint.evaluate(model, charges), hls_model.predict(x), model)
