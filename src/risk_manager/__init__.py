"""risk-manager: a real-time risk guard for TopstepX / ProjectX Gateway futures accounts."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("risk-manager")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"
