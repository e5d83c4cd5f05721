from __future__ import annotations

import numpy as np

from econflow.config import (
    DataSection,
    EmdCnnSection,
    ModelSection,
    RefineSection,
    TrainingSection,
)
from econflow.models import autoencoder, dataset, emd_cnn, refinement


def test_refinement_fits_the_emd_cnn_to_reconstructions():
    """A poor EMD-CNN refined on an autoencoder's reconstructions estimates their EMD better,
    and each round records the error it had before fitting."""
    charges = dataset.generate(4000, DataSection(), seed=7)
    live = charges[charges.sum(axis=1) > 0]
    train, held = live[:3000], live[3000:]
    network = emd_cnn.train(
        EmdCnnSection(filters=8, conv_layers=2, dense=16, epochs=1, seed=2),
        emd_cnn.make_pairs(train, 1000, seed=1),
        progress=False,
    )
    model_cfg = ModelSection()
    ae = autoencoder.build_autoencoder(model_cfg, TrainingSection(decoder_units=16))
    x = autoencoder.normalize(train, model_cfg)
    held_pairs = refinement.reconstruction_pairs(
        ae, autoencoder.normalize(held, model_cfg), emd_cnn.unit_sum(held)
    )
    before = emd_cnn.accuracy(network, held_pairs, 0.1)["reconstructions"]

    refine = refinement.Refinement(
        RefineSection(every=1, pairs=2000, epochs=8, learning_rate=3e-3),
        network,
        x,
        emd_cnn.unit_sum(train),
        train,
        min_emd=0.1,
        seed=4,
    )
    refine.set_model(ae)
    for epoch in (1, 2, 3):
        refine.refine(epoch)
    after = emd_cnn.accuracy(network, held_pairs, 0.1)["reconstructions"]

    assert [r.epoch for r in refine.rounds] == [1, 2, 3]
    assert abs(refine.rounds[0].rel_error_mean) > abs(refine.rounds[-1].rel_error_mean)
    assert abs(after.mean) < abs(before.mean) or after.std < before.std
    assert np.hypot(after.mean, after.std) < 0.7 * np.hypot(before.mean, before.std)
    assert set(np.unique(held_pairs.kind)) == {emd_cnn.KINDS.index("reconstructions")}
