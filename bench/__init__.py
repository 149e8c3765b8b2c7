"""`make bench`: the shop's speed, memory and latency against a bare aiohttp baseline (see
BENCHMARKS.md). bench/run.py is the driver."""
