"""The ``aion`` command, built on the SDK (click for arguments, rich for terminals)."""
