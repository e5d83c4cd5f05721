"""Train the ECON-T-like autoencoder on your own trigger-cell CSV files, then try a loss of
your own in a plain Keras loop.

Copy this file and run it with your design file and data:

    python train_own_data.py encoder.yaml my_modules_*.csv --loss telescope --epochs 20

Each CSV file holds one module per row: integer charges in 48 columns CALQ_0..CALQ_47 (the
ECON-T training samples' format; other columns are ignored). The design file sets everything
else; start from the repository's encoder.yaml. Results go to build/<design file>-own (or
--build-dir): the figures in models/metrics.json, the loss per epoch in
models/training_history.csv; `sc flow run DESIGN --build-dir DIR` takes the flow's own
training from there to hardware.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from econflow.api import Trained, train
from econflow.config import Design, load_config
from econflow.models import artefacts, autoencoder, emd_cnn, losses
from econflow.models.emd import emd_batch


def main() -> None:
    args = _arguments()
    changes = {"data.source": "csv", "data.csv": [str(p.resolve()) for p in args.csv]}
    if args.loss:
        changes["training.loss"] = args.loss
    if args.epochs:
        changes["training.epochs"] = args.epochs
    cfg = load_config(args.design, changes)
    trained = train(cfg, args.build_dir or Path("build") / f"{args.design.stem}-own")
    result = trained.metrics.autoencoder
    print(f"{result.loss_name} loss: mean EMD {result.emd_mean:.3f} on held-out modules")
    for name, baseline in sorted((trained.metrics.baselines or {}).items()):
        print(f"  {name}: mean EMD {baseline.emd_mean:.3f} at the same bits")
    if trained.emd_cnn is not None and args.custom_epochs:
        custom_loss(trained, cfg.design, args.custom_epochs)


def custom_loss(trained: Trained, design: Design, epochs: int) -> None:
    """The EMD-CNN estimate plus a tenth of the telescope loss, in your own Keras fit,
    scored with exact EMD on the same held-out modules."""
    train, holdout = artefacts.at(trained.build_dir).load_dataset()
    train, holdout = (c[c.sum(axis=1) > 0] for c in (train, holdout))
    emd = losses.emd_loss(emd_cnn.load(trained.emd_cnn))
    telescope = losses.telescope_loss()

    def mine(y_true, y_pred):
        return emd(y_true, y_pred) + 0.1 * telescope(y_true, y_pred)

    model = autoencoder.build_autoencoder(design.model, design.training)
    model.compile(optimizer="adam", loss=mine)
    model.fit(
        autoencoder.normalize(train, design.model),
        emd_cnn.unit_sum(train),
        epochs=epochs,
        batch_size=256,
        verbose=2,
    )
    reconstructed = model.predict(autoencoder.normalize(holdout, design.model), verbose=0)
    exact = emd_batch(emd_cnn.unit_sum(holdout), reconstructed)
    print(f"custom loss: mean EMD {np.mean(exact):.3f} on {len(exact)} held-out modules")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("design", type=Path, help="design file (start from encoder.yaml)")
    parser.add_argument("csv", type=Path, nargs="+", help="CSV files of CALQ_0..CALQ_47")
    parser.add_argument("--loss", choices=losses.LOSSES)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--custom-epochs", type=int, default=10, help="0 skips the custom loss")
    parser.add_argument("--build-dir", type=Path)
    return parser.parse_args()


if __name__ == "__main__":
    main()
