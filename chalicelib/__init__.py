"""Everything the AION Lambdas run, framework-independent below app.py."""
