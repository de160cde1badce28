"""HTTP plumbing that knows nothing about Chalice: request parsing, responses, cursors, the
route table and the OpenAPI document generated from it. chalicelib/api/rest.py adapts Chalice
to these."""
