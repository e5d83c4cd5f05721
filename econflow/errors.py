"""One error hierarchy for every stage; the CLI turns each into one line and a non-zero exit."""

from __future__ import annotations

from pathlib import Path


class EconflowError(Exception):
    """Base of every error econflow reports to a user."""


class ConfigError(EconflowError):
    """A design file (``encoder.yaml``) is malformed or asks for something impossible."""

    def __init__(self, path: str | Path, key: str, message: str) -> None:
        self.path = str(path)
        self.key = key
        self.message = message
        where = f"{self.path}: {key}" if key else self.path
        super().__init__(f"{where}: {message}")


class DataError(EconflowError):
    """An input data file (for example a CALQ CSV) cannot be used."""

    def __init__(self, path: str | Path, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class ArtefactError(EconflowError):
    """A stage artefact (model file, quantized model, metrics) is missing, corrupt or foreign."""

    def __init__(self, path: str | Path, message: str) -> None:
        self.path = str(path)
        super().__init__(f"{self.path}: {message}")


class ToolMissingError(EconflowError):
    """An external tool the flow needs is not installed."""


class ToolFailedError(EconflowError):
    """An external tool ran and failed."""

    def __init__(self, tool: str, returncode: int, log: str | Path) -> None:
        self.tool = tool
        self.returncode = returncode
        self.log = str(log)
        super().__init__(f"{tool} failed with return code {returncode}; log: {self.log}")


class PdkDataError(EconflowError):
    """A PDK's library data (liberty, LEF, cell models) cannot be found."""


class FormatError(EconflowError):
    """An EDA file (netlist, DEF, LEF, a tool's report) lacks what the flow needs from it."""
