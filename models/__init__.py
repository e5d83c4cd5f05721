"""Models stage: data, exact EMD, EMD-CNN, QKeras autoencoder and the quantized model file.

Public interface (submodules are imported on use, so reading a quantized model never loads
TensorFlow):

- ``artefacts.load(build_dir)``: the stage's artefacts; ``.load_quantized()`` is what the
  HLS, RTL and verification stages read, ``.load_dataset()`` the train and held-out charges.
- ``quantized``: the quantized model file (format ``econflow-quantized-model`` v1).
- ``fixedpoint.evaluate(model, charges)``: the integer-exact golden model.
- ``dataset.generate``, ``dataset.load_csv``, ``dataset.corner_cases``: module charge maps.
- ``emd.emd``, ``emd.emd_batch``: exact Earth Mover's Distance on the HGCAL geometry.
- ``pipeline.STEPS``: the flow steps ``data``, ``emd``, ``train`` and ``quantize``.
"""
