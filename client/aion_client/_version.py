"""The version of the aion client (one place)."""

__version__ = "0.1.0"
