"""Pydantic request/response models of the REST API (camelCase on the wire)."""
