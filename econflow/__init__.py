"""econflow: an ASIC design flow for radiation-tolerant on-detector neural-network encoders."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("econflow")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
