from __future__ import annotations

from econflow.models.results import (
    EmdSummary,
    ModelsMetrics,
    RefinedEmdCnnResult,
    RelativeError,
)


def test_figures_that_may_be_absent_read_back(tmp_path):
    """A baseline that sent nothing for every module has no mean over sent outputs, and an
    EMD-CNN that was not refined has no 'after': both must survive the metrics file."""
    empty = EmdSummary(
        emd_mean=13.8,
        emd_median=13.8,
        emd_p16=13.8,
        emd_p84=13.8,
        output_bits=12,
        empty_output_fraction=1.0,
        emd_mean_sent=None,
    )
    error = RelativeError(pairs=10, mean=0.01, std=0.04, p16=-0.03, p84=0.05)
    fixed = RefinedEmdCnnResult(rounds=[], seconds=0.0, before={"modules": error}, after=None)
    ModelsMetrics.record(tmp_path, "baselines", {"best_choice": empty})
    ModelsMetrics.record(tmp_path, "emd_cnn_refined", fixed)
    again = ModelsMetrics.read(tmp_path)
    assert again.baselines["best_choice"] == empty
    assert again.emd_cnn_refined == fixed
