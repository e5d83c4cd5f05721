"""Models stage: data, exact EMD, EMD-CNN, QKeras autoencoder and the quantized model file."""
