"""HLS stage: quantized model to hls4ml projects and their C simulation (not built yet)."""
