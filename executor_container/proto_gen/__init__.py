"""Generated from proto/executor.proto by `make proto`. Do not edit."""
