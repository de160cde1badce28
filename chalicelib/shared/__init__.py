"""Pure-standard-library code shared by the Lambdas and the executor image.

Nothing here imports the rest of ``chalicelib`` or any third-party package: the executor's image
ships this package (with ``chalicelib/__init__.py``) and nothing else of ``chalicelib``.
"""
