"""The models stage's figures (``<build>/models/metrics.json``), one model per section."""

from __future__ import annotations

from typing import ClassVar

from econflow.results import Result, StageMetrics, StepResult


class ChargeStatistics(Result):
    """How the modules look, against the real ECON-T inputs (``econflow.models.statistics``):
    occupancy (trigger cells with charge) and module sums in MIP_T."""

    occupancy_mode: int
    occupancy_median: float
    occupancy_mean: float
    fraction_40_plus: float  # modules with 40 or more of 48 cells occupied
    fraction_46_plus: float
    sum_median_mip: float
    sum_decay_mip: float  # decay length of the sum's histogram over 0-43 MIP_T


class DataResult(StepResult):
    """The dataset: module counts, occupancy (trigger cells with charge) and module sums
    (ADC counts)."""

    source: str
    modules: int
    train: int
    holdout: int
    occupancy_mean: float
    occupancy_median: float
    occupancy_p16: float
    occupancy_p84: float
    empty_fraction: float
    full_fraction: float
    sum_mean: float
    sum_median: float
    sum_p99: float
    statistics: ChargeStatistics


class RelativeError(Result):
    """EMD-CNN estimate against exact EMD: relative error (predicted / exact - 1) of the pairs
    above the design's ``emd_cnn.min_emd``."""

    pairs: int
    mean: float
    std: float
    p16: float
    p84: float


class EmdCnnResult(StepResult):
    """Accuracy of the EMD-CNN on held-out pairs, overall and per kind of pair (``modules``:
    two different modules; ``distortions``: a module and a reconstruction-like distortion)."""

    pairs_train: int
    pairs_eval: int
    pairs_below_min_emd: int
    min_emd: float
    rel_error_mean: float
    rel_error_std: float
    rel_error_p16: float
    rel_error_p84: float
    abs_error_mean: float
    by_kind: dict[str, RelativeError]


class RefinementRound(Result):
    """One refinement during training: the EMD-CNN on that round's new reconstructions of
    training modules, before it was fitted on them (what the autoencoder trained against)."""

    epoch: int
    rel_error_mean: float
    rel_error_std: float


class RefinedEmdCnnResult(Result):
    """The EMD-CNN refined while the autoencoder trained (``training.refine_emd_cnn``), per
    kind of held-out pair: ``before`` is the ``emd`` step's network, ``after`` the refined
    one; ``reconstructions`` pairs a held-out module with the final autoencoder's output."""

    rounds: list[RefinementRound]
    seconds: float
    before: dict[str, RelativeError]
    after: dict[str, RelativeError] | None = None  # None: ``training.refine_emd_cnn.every`` 0


class EmdSummary(Result):
    """Compression quality of one algorithm on the held-out modules (EMD in small-cell
    units), at ``output_bits`` per module. A module whose output is empty (threshold sending
    nothing) scores the empty-map EMD, the largest TC distance (``econflow.models.emd``);
    ``emd_mean_sent`` leaves those modules out (None when every output is empty)."""

    emd_mean: float
    emd_median: float
    emd_p16: float
    emd_p84: float
    output_bits: int
    empty_output_fraction: float
    emd_mean_sent: float | None = None


class AutoencoderResult(StepResult, EmdSummary):
    """The trained autoencoder: final losses and its quality on the held-out modules."""

    loss_name: str
    loss: float
    val_loss: float
    epochs: int
    train_modules: int
    eval_modules: int


class EmdHistogram(Result):
    """Modules per EMD bin (shared ``edges``) and mean EMD, per algorithm."""

    edges: list[float]
    counts: dict[str, list[int]]
    mean: dict[str, float]


class EmdProfile(Result):
    """Mean, median and 16-84% band of the EMD per occupancy bin (None for an empty bin);
    ``counts`` modules in each bin."""

    centres: list[float]
    counts: list[int]
    mean: dict[str, list[float | None]]
    median: dict[str, list[float | None]]
    p16: dict[str, list[float | None]]
    p84: dict[str, list[float | None]]


class QualityDistributions(Result):
    emd_histogram: EmdHistogram
    emd_vs_occupancy: EmdProfile


class Comparison(Result):
    """Samples whose latent integers differ from the fixed-point model's."""

    samples: int
    mismatches: int
    first_mismatch: int | None = None  # index of the first sample that differs


class BitExactResult(StepResult, Comparison):
    """The QKeras encoder against the fixed-point model of the quantized model file."""

    latent_nonzero_fraction: float
    latent_saturated_fraction: float


class ModelsMetrics(StageMetrics):
    STAGE: ClassVar[str] = "models"

    data: DataResult | None = None
    emd_cnn: EmdCnnResult | None = None
    autoencoder: AutoencoderResult | None = None
    baselines: dict[str, EmdSummary] | None = None
    quality: QualityDistributions | None = None
    emd_cnn_refined: RefinedEmdCnnResult | None = None
    bit_exact: BitExactResult | None = None
