"""Start the shop as run.py does, but with retention ages of seconds: the long-run check
(bench/longrun.py) has to see hours of pruning in minutes.

The configuration refuses such ages on purpose (an Idempotency-Key is promised 24 hours), so
they are not settable through config.toml or SHOP_* variables. This launcher, used only by
the bench, loads the configuration the ordinary way (secrets resolved as create_app resolves
them) and then replaces the [retention] section with `model_copy`, which skips validation:
the production minimums stay as they are, and the pruner runs the same code with smaller
numbers.

    BENCH_RETENTION='{"idempotency_keys_seconds": 10, "interval_seconds": 1}' \\
        python bench/short_retention.py --log-level WARNING
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from aiohttp import web

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the checkout's shop and run.py, as `python run.py` would import

import shop.app  # noqa: E402
from run import LOG_LEVELS, event_loop  # noqa: E402
from shop.config import RetentionConfig, ShopConfig, load_config  # noqa: E402
from shop.logs import configure_logging  # noqa: E402
from shop.malloc import limit_arenas, trim_after_startup  # noqa: E402

VARIABLE = "BENCH_RETENTION"


def with_retention(cfg: ShopConfig, ages: dict[str, float]) -> ShopConfig:
    unknown = sorted(set(ages) - set(RetentionConfig.model_fields))
    if unknown:
        raise SystemExit(f"{VARIABLE}: no such retention setting: {', '.join(unknown)}")
    return cfg.model_copy(update={"retention": cfg.retention.model_copy(update=ages)})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log-level", default="WARNING", type=str.upper, choices=LOG_LEVELS)
    args = parser.parse_args()
    limit_arenas()  # as run.py: the memory measured is the memory a user's shop has
    configure_logging(args.log_level)
    resolved = shop.app.resolve_secrets(load_config(REPO / "config.toml"))
    cfg = with_retention(resolved, json.loads(os.environ.get(VARIABLE, "{}")))
    # create_app resolves the secrets itself, through with_changes, which validates the whole
    # configuration again and would refuse these ages: hand it what was resolved above.
    shop.app.resolve_secrets = lambda _: cfg
    app = shop.app.create_app(cfg)
    trim_after_startup(app)
    web.run_app(
        app,
        host=cfg.server.host,
        port=cfg.server.port,
        access_log=None,
        print=None,
        loop=event_loop(),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
