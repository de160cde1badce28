"""HTTP plumbing that knows nothing about Chalice: request parsing, responses, cursors, the
route table and the OpenAPI document generated from it. app.py adapts Chalice to these."""
