"""The gateway: the one middleware every request passes through (middleware.py), the one
response hook (access.py), and the pieces they are made of."""
