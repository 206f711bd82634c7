"""wslwatch: a resource monitor for Windows + WSL2 machines that train models."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("wslwatch")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
