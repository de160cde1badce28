"""The domain: plain typed values in and out, never an API Gateway event or a Chalice object."""
