"""The dev stack: the whole AION system on one machine (``python -m devstack``).

Emulates what AWS gives the Lambdas (API Gateway REST + WebSocket + management API, SQS event
source mapping, EventBridge schedules) around the very same Chalice app object, on top of a moto
server. Nothing here is imported by Lambda code.
"""
