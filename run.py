"""Start the shop: parse arguments, load the configuration once, serve."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from aiohttp import web

from shop import backup as backups
from shop import status as shop_status
from shop import status_client as shop_status_client
from shop.app import create_app
from shop.config import ConfigError, load_config
from shop.datalock import DataDirBusy
from shop.layout import PROCESS_ROLES
from shop.logs import configure_logging
from shop.malloc import limit_arenas, trim_after_startup

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
TOOLS = ("backup", "restore", "status")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run the shop (all services in one process by default).",
        epilog="Also: `run.py backup DIR` (while the shop serves), `run.py restore DIR` (while it is stopped) "
        "and `run.py status` (of the running shop).",
    )
    parser.add_argument(
        "--config", type=Path, default=Path("config.toml"), help="configuration file (default: config.toml)"
    )
    parser.add_argument("--host", help="listen address (overrides [server] host)")
    parser.add_argument("--port", type=int, help="listen port (overrides [server] port)")
    parser.add_argument(
        "--services",
        help=f"comma-separated services to run here, of {', '.join(PROCESS_ROLES)} "
        "(default: every service without a [services.<name>] url, and the gateway)",
    )
    parser.add_argument("--log-level", default="INFO", type=str.upper, choices=LOG_LEVELS, help="default: INFO")
    return parser.parse_args(argv)


def parse_tool_args(argv: list[str]) -> argparse.Namespace:
    descriptions = {
        "backup": "Back up the shop's data directory while it serves.",
        "restore": "Put a backup in place in the data directory (the shop stopped).",
        "status": "Print a running shop's state: versions, uptime, databases, backlog, stuck orders, services.",
    }
    parser = argparse.ArgumentParser(prog=f"run.py {argv[0]}", description=descriptions[argv[0]])
    parser.add_argument(
        "--config", type=Path, default=Path("config.toml"), help="configuration file (default: config.toml)"
    )
    if argv[0] == "status":
        parser.add_argument("--url", help="the shop's base URL (default: from [server] host and port)")
    else:
        parser.add_argument(
            "directory",
            type=Path,
            help="backup: an empty or new directory to write the backup to; restore: a backup to put in place",
        )
    return parser.parse_args(argv[1:])


def run_tool(argv: list[str]) -> int:
    """`backup DIR` (online: the shop may serve meanwhile), `restore DIR` (the shop stopped),
    or `status` (of the running shop)."""
    args = parse_tool_args(argv)
    try:
        cfg = load_config(args.config)
        data_dir = cfg.data.dir
        if argv[0] == "status":
            print(shop_status.render(shop_status_client.fetch(cfg, args.url)))
        elif argv[0] == "backup":
            entries = backups.backup(data_dir, args.directory)
            print(f"backed up {data_dir} to {args.directory}: " + ", ".join(e.name for e in entries))
        else:
            entries = backups.restore(args.directory, data_dir)
            print(f"restored {args.directory} into {data_dir}: " + ", ".join(e.name for e in entries))
    except (ConfigError, backups.BackupError, DataDirBusy, shop_status_client.StatusUnavailable) as exc:
        print(f"shop {argv[0]}: {exc}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in TOOLS:
        return run_tool(argv)
    limit_arenas()  # before any thread starts
    args = parse_args(argv)
    configure_logging(args.log_level)
    try:
        cfg = load_config(args.config)
        services = [name.strip() for name in args.services.split(",") if name.strip()] if args.services else None
        app = create_app(cfg, services)  # refuses a layout that cannot work (ConfigError)
    except ConfigError as exc:
        print(f"shop: {exc}", file=sys.stderr)
        return 2
    trim_after_startup(app)
    web.run_app(
        app,
        host=args.host or cfg.server.host,
        port=args.port if args.port is not None else cfg.server.port,
        access_log=None,  # our access middleware writes the structured line
        print=None,
        loop=event_loop(),
    )
    return 0


def event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (not on Windows): the same asyncio, a faster loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


if __name__ == "__main__":
    sys.exit(main())
