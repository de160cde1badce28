"""Data access: pynamodb models (one table each) and the queries the API needs."""
