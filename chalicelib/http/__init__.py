"""HTTP plumbing that knows nothing about Chalice: request parsing, responses, the route table
and the OpenAPI document generated from it. chalicelib/api/rest.py adapts Chalice to these.
(List cursors are the domain's: chalicelib.logic.paging.)"""
