"""The executor's modules: one file each, each defining ``MODULE = ModuleSpec(...)``."""
