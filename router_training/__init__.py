"""Offline training of the router's classifier: the labelled data and the trainer.

Not part of any Lambda package: only the artifact it writes (``chalicelib/router/model.json``)
ships. ``make router-model`` retrains it; the suite fails when the artifact is stale.
"""
