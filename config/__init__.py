"""Configuration: schema with defaults, TOML loading and validation, the default file."""

from wslwatch.config.loader import ConfigError, default_config_path, load, load_text
from wslwatch.config.schema import Config

__all__ = ["Config", "ConfigError", "default_config_path", "load", "load_text"]
