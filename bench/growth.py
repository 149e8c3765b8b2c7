"""What the long run (bench/longrun.py) looks at, and how it judges it: the process's memory,
the size of every database file, and how many rows each bookkeeping table holds.

Everything is read from outside the shop, as an operator would: /proc for memory, the file
sizes, and read-only SQLite connections (`mode=ro`), which never write or block the shop."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MB = 1024 * 1024

# Rows that exist only to keep a promise for a while; retention must keep each bounded.
# (database, label, query)
BOOKKEEPING: tuple[tuple[str, str, str], ...] = (
    ("orders", "idempotency_keys", "SELECT COUNT(*) FROM idempotency_keys"),
    ("orders", "outbox published", "SELECT COUNT(*) FROM outbox WHERE published_at IS NOT NULL"),
    ("orders", "outbox unpublished", "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL"),
    ("orders", "reservations", "SELECT COUNT(*) FROM reservations"),
    ("products", "reservations", "SELECT COUNT(*) FROM reservations"),
    ("dispatcher", "handled_events", "SELECT COUNT(*) FROM handled_events"),
    ("dispatcher", "deliveries", "SELECT COUNT(*) FROM deliveries"),
    ("dispatcher", "delivery_attempts", "SELECT COUNT(*) FROM delivery_attempts"),
    ("dispatcher", "dispatches", "SELECT COUNT(*) FROM dispatches"),
    ("dispatcher", "parked_events", "SELECT COUNT(*) FROM parked_events"),
    ("auth", "password_resets", "SELECT COUNT(*) FROM password_resets"),
)
# The orders' own rows: these grow with every order, and orders.db with them.
ORDER_TABLES = frozenset({"orders", "order_lines", "status_events", "order_notes"})
OWN_ROWS: tuple[tuple[str, str, str], ...] = (
    ("orders", "orders", "SELECT COUNT(*) FROM orders"),
    ("orders", "status_events", "SELECT COUNT(*) FROM status_events"),
)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def file_sizes(data_dir: Path) -> dict[str, int]:
    """Each database's bytes on disk: the main file plus its write-ahead log."""
    sizes = {}
    for db in sorted(data_dir.glob("*.db")):
        wal = db.with_name(db.name + "-wal")
        sizes[db.stem] = db.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    return sizes


def row_counts(data_dir: Path, queries: tuple[tuple[str, str, str], ...]) -> dict[str, int]:
    counts = {}
    for database, label, query in queries:
        path = data_dir / f"{database}.db"
        if not path.exists():
            continue
        conn = _connect(path)
        try:
            counts[f"{database}.{label}"] = int(conn.execute(query).fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
        finally:
            conn.close()
    return counts


def table_bytes(path: Path) -> dict[str, int]:
    """Bytes of pages each table (its indexes counted with it) uses, and the free pages'."""
    conn = _connect(path)
    try:
        tables = dict(conn.execute("SELECT name, tbl_name FROM sqlite_schema WHERE type IN ('table', 'index')"))
        used: dict[str, int] = {}
        for name, size in conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
            owner = tables.get(name, name)
            used[owner] = used.get(owner, 0) + int(size)
        page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        used["(free pages)"] = int(conn.execute("PRAGMA freelist_count").fetchone()[0]) * page_size
        return used
    finally:
        conn.close()


@dataclass(frozen=True)
class Sample:
    orders: int  # placed so far
    seconds: float  # since the load began
    rss: int
    files: dict[str, int]
    rows: dict[str, int]
    orders_db: dict[str, int]  # bytes of orders.db in the orders' own tables, and in the rest
    orders_db_rest: dict[str, int]  # the rest, by table (free pages included): where it goes

    @classmethod
    def take(cls, orders: int, seconds: float, pid: int, data_dir: Path) -> Sample:
        tables = table_bytes(data_dir / "orders.db")
        own = sum(size for table, size in tables.items() if table in ORDER_TABLES)
        return cls(
            orders,
            seconds,
            rss_bytes(pid),
            file_sizes(data_dir),
            row_counts(data_dir, BOOKKEEPING + OWN_ROWS),
            {"own": own, "other": sum(tables.values()) - own},
            {table: size for table, size in sorted(tables.items()) if table not in ORDER_TABLES},
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sample:
        """A sample as `as_dict` wrote it (runs recorded before the rest by table: none)."""
        return cls(
            data["orders"],
            data["seconds"],
            data["rss_bytes"],
            data["files"],
            data["rows"],
            data["orders_db_bytes"],
            data.get("orders_db_rest_bytes", {}),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "orders": self.orders,
            "seconds": round(self.seconds, 1),
            "rss_bytes": self.rss,
            "files": self.files,
            "rows": self.rows,
            "orders_db_bytes": self.orders_db,
            "orders_db_rest_bytes": self.orders_db_rest,
        }


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class Limits:
    rss_growth_bytes: int = 2 * MB  # second half of the run
    # A database file never shrinks: its size is the most its bookkeeping ever held at once
    # (plus its own rows), a running maximum that still steps up now and then as the load
    # varies, less often the longer the run. A leak grows with every order: one row per
    # order left behind is 40 bytes or more. So a file (or orders.db's part that does not
    # hold orders) may grow in the run's second half by the largest of these:
    file_growth_bytes: int = 1 * MB
    file_growth_share: float = 0.02  # of its size at half-way
    file_growth_per_order: int = 10  # bytes per order placed in the second half
    bookkeeping_rows_after: int = 1000  # once retention caught up, whatever N was

    def file_growth_allowed(self, size_at_half: int, orders_after_half: int) -> int:
        return max(
            self.file_growth_bytes,
            int(size_at_half * self.file_growth_share),
            self.file_growth_per_order * orders_after_half,
        )


def judge(samples: list[Sample], final: Sample, limits: Limits) -> list[Check]:
    """`samples`: taken during the load (the first one after a warm-up); `final`: once
    retention caught up after the load."""
    half = min(samples, key=lambda s: abs(s.orders - samples[-1].orders / 2))
    last = samples[-1]
    checks = []

    rss_growth = max(s.rss for s in samples if s.orders >= half.orders) - half.rss
    checks.append(
        Check(
            "RSS flat",
            rss_growth <= limits.rss_growth_bytes,
            f"{half.rss / MB:.1f} MB at {half.orders:,} orders, at most {(half.rss + rss_growth) / MB:.1f} MB after "
            f"(+{rss_growth / MB:.2f} MB; limit {limits.rss_growth_bytes / MB:.0f} MB); "
            f"{final.rss / MB:.1f} MB at the end",
        )
    )

    orders_after_half = last.orders - half.orders
    for database in sorted(final.files):
        if database == "orders":
            continue
        grown = max(final.files[database], last.files[database]) - half.files[database]
        allowed = limits.file_growth_allowed(half.files[database], orders_after_half)
        checks.append(
            Check(
                f"{database}.db stops growing",
                grown <= allowed,
                f"{half.files[database] / MB:.2f} MB at {half.orders:,} orders, "
                f"{final.files[database] / MB:.2f} MB at the end ({grown / MB:+.2f} MB; limit {allowed / MB:.2f} MB)",
            )
        )

    for label in (label for database, table, _ in BOOKKEEPING if (label := f"{database}.{table}") in final.rows):
        peak_first = max(s.rows[label] for s in samples if s.orders <= half.orders)
        peak_second = max(s.rows[label] for s in samples if s.orders >= half.orders)
        # Bounded: nothing left once retention caught up, and no higher in the second half
        # than the first (the count in flight follows the rate, which a shared machine varies).
        ok = final.rows[label] <= limits.bookkeeping_rows_after and peak_second <= 2 * peak_first + 1000
        checks.append(
            Check(
                f"{label} bounded",
                ok,
                f"peak {peak_first:,} (first half), {peak_second:,} (second half), {final.rows[label]:,} at the end",
            )
        )

    placed = final.rows.get("orders.orders", last.orders) - samples[0].rows.get("orders.orders", samples[0].orders)
    per_order = (final.orders_db["own"] - samples[0].orders_db["own"]) / max(placed, 1)
    file_per_order = (final.files["orders"] - samples[0].files["orders"]) / max(placed, 1)
    # The rest rises and falls with the rows in flight (its free pages are taken by new
    # orders), so the peaks of the two halves are compared, not two single samples.
    rest_first = max(s.orders_db["other"] for s in samples if s.orders <= half.orders)
    rest_second = max(s.orders_db["other"] for s in [*samples, final] if s.orders >= half.orders)
    rest_allowed = limits.file_growth_allowed(rest_first, orders_after_half)
    checks.append(
        Check(
            "orders.db grows by the orders' own rows only",
            rest_second - rest_first <= rest_allowed,
            f"{per_order:.0f} bytes per order in the orders' own tables, {file_per_order:.0f} per order on disk; "
            f"the other tables and free pages at most {rest_first / MB:.2f} MB up to {half.orders:,} orders, "
            f"{rest_second / MB:.2f} MB after ({(rest_second - rest_first) / MB:+.2f} MB; "
            f"limit {rest_allowed / MB:.2f} MB)",
        )
    )
    return checks


def render(samples: list[Sample], final: Sample, checks: list[Check]) -> str:
    """One column per sample, one line per measure; the verdict under it."""
    columns = [*samples, final]
    files = sorted({name for s in columns for name in s.files})
    tables = [f"{d}.{t}" for d, t, _ in BOOKKEEPING if any(f"{d}.{t}" in s.rows for s in columns)]
    lines = [
        ["orders placed", *(f"{s.orders:,}" for s in samples), "end"],
        ["seconds", *(f"{s.seconds:.0f}" for s in columns)],
        ["RSS MB", *(f"{s.rss / MB:.1f}" for s in columns)],
        *([f"{f}.db MB", *(f"{s.files.get(f, 0) / MB:.2f}" for s in columns)] for f in files),
        ["orders.db: orders' own MB", *(f"{s.orders_db['own'] / MB:.2f}" for s in columns)],
        ["orders.db: the rest MB", *(f"{s.orders_db['other'] / MB:.2f}" for s in columns)],
        *([t, *(f"{s.rows.get(t, 0):,}" for s in columns)] for t in tables),
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    table = "\n".join(
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    )
    verdict = "\n".join(f"{'ok  ' if c.ok else 'FAIL'}  {c.name}: {c.detail}" for c in checks)
    return f"{table}\n\n{verdict}"
