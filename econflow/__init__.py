"""econflow: an ASIC design flow for radiation-tolerant on-detector neural-network encoders."""

import os
from importlib.metadata import PackageNotFoundError, version

# TensorFlow prints CUDA and CPU-feature chatter at import unless told otherwise, and QKeras
# imports it before any stage module could; set the default once, here.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

try:
    __version__ = version("econflow")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
