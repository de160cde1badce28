"""Authentication and authorization: passwords, tokens, tickets, roles."""
