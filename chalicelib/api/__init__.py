"""The REST API: ``rest`` adapts Chalice (the route table, parsing, auth, the error envelope);
the other modules are blueprints grouped by resource, each route parse -> authorize -> call
``chalicelib.logic`` -> shape. ``app.py`` registers them.

Logic is imported inside the handlers: each logic module loads pynamodb, pydantic and the
models, which a cold start serving another route (or a WebSocket/SQS event) would otherwise
pay for (benchmarks/cold_start.py).
"""
