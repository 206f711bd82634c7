"""wslwatch: a resource monitor for Windows + WSL2 machines that train models."""

#: The one place the version is written (pyproject.toml reads it from here). A literal, not
#: importlib.metadata: reading the installed metadata costs 1 MB and 20 ms at every start.
__version__ = "0.1.0"

__all__ = ["__version__"]
