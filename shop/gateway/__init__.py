"""The gateway: middlewares every request passes through, in the order `middlewares()` lists."""
