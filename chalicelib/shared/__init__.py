"""Pure-stdlib code shared by the Lambdas and the executor image.

The executor's image copies ``chalicelib/__init__.py`` and this package only, so nothing here
imports the rest of ``chalicelib`` or any third-party package.
"""
