"""Schemathesis against the real shop, as a hostile client would try it: every check and every
phase (examples, coverage, fuzzing, stateful), driven by the shop's own /api/openapi.json, once
without a token, once as a customer and once as an admin, each against a fresh shop process on
a free port (an admin's stateful run deletes what a customer's would need).

`python -m tests.fuzz [--report-dir DIR] [schemathesis run options]`: `make fuzz` runs it with
a large budget; tests/test_fuzz.py with a small one. Any failure of any check fails the run,
and so does a traceback in a shop's log.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.processes import REPO, ShopProcess, start_shop

IDENTITIES = ("anonymous", "customer", "admin")
CHECKS = "all"
PHASES = "examples,coverage,fuzzing,stateful"
# The SSE routes stream until the client leaves: schemathesis reads one until this timeout,
# which is the stream's nature, not a hang (so each of their cases costs this much).
REQUEST_TIMEOUT_SECONDS = 2
# What schemathesis is told not to check, with why. Empty: the document is exact instead.
EXCLUDED_CHECKS: dict[str, str] = {}
# Where a check's expectation is wrong for the shop, the one operation and status it is
# widened by, with why (schemathesis.toml, written for each run).
ADJUSTED_EXPECTATIONS = """
# POST /api/orders: a schema-valid order can name a product id that does not exist (or
# products priced in different currencies). Which ids exist is data, not something a
# document can say; the contract answers 422 for it. Only this operation, only 422.
[[operations]]
include-path = "/api/orders"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]

# The SSE streams: every case waits out the request timeout (the stream stays open), so a
# large budget would be spent waiting. Their one parameter is a Last-Event-ID header.
[[operations]]
include-path-regex = "/events$"
generation.max-examples = 50
"""


@dataclass
class Outcome:
    identity: str
    exit_code: int
    output: str
    log_tracebacks: int

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and self.log_tracebacks == 0


async def token_for(shop: ShopProcess, identity: str) -> str | None:
    if identity == "anonymous":
        return None
    async with aiohttp.ClientSession(shop.url) as http:
        if identity == "admin":
            answer = await http.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        else:
            answer = await http.post(
                "/api/auth/register",
                json={"name": "Fuzzing Customer", "email": "fuzz@example.com", "password": "password-123"},
            )
        assert answer.status in (200, 201), await answer.text()
        return str((await answer.json())["token"])


def schemathesis_command(url: str, token: str | None, report_dir: Path, extra: list[str]) -> list[str]:
    config = report_dir / "schemathesis.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(ADJUSTED_EXPECTATIONS)
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(config),
        "run",
        f"{url}/api/openapi.json",
        "--url",
        url,
        "--checks",
        CHECKS,
        "--phases",
        PHASES,
        "--request-timeout",
        str(REQUEST_TIMEOUT_SECONDS),
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(report_dir),
    ]
    if EXCLUDED_CHECKS:
        command += ["--exclude-checks", ",".join(EXCLUDED_CHECKS)]
    if token is not None:
        command += ["--header", f"Authorization: Bearer {token}"]
    return command + extra


async def fuzz_as(identity: str, work: Path, report_dir: Path, extra: list[str]) -> Outcome:
    shop = await start_shop(work / identity / "data", log_name=f"shop-{identity}")
    try:
        token = await token_for(shop, identity)
        process = await asyncio.create_subprocess_exec(
            *schemathesis_command(shop.url, token, report_dir / identity, extra),
            # Its example database and crash cache go with the reports, not into the repository.
            cwd=report_dir / identity,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        exit_code = await process.wait()
    finally:
        await shop.stop()
    log = shop.log()
    (report_dir / identity).mkdir(parents=True, exist_ok=True)
    (report_dir / identity / "shop.log").write_text(log)
    text = output.decode(errors="replace")
    (report_dir / identity / "schemathesis.txt").write_text(text)
    return Outcome(identity, exit_code, text, log.count("Traceback"))


async def fuzz(report_dir: Path, extra: list[str], identities: tuple[str, ...] = IDENTITIES) -> list[Outcome]:
    """One identity after another: the machine's cores go to the shop and the fuzzer."""
    work = Path(tempfile.mkdtemp(prefix="shop-fuzz-"))
    try:
        return [await fuzz_as(identity, work, report_dir, extra) for identity in identities]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def summary(outcomes: list[Outcome]) -> str:
    lines = []
    for outcome in outcomes:
        verdict = "passed" if outcome.passed else "FAILED"
        lines.append(
            f"{outcome.identity}: {verdict} (schemathesis exit {outcome.exit_code}, "
            f"{outcome.log_tracebacks} tracebacks in the shop's log)"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--report-dir", type=Path, default=REPO / "test-output" / "fuzz")
    options, extra = parser.parse_known_args()
    outcomes = asyncio.run(fuzz(options.report_dir.resolve(), extra))
    for outcome in outcomes:
        print(f"==== {outcome.identity} " + "=" * 60)
        print(outcome.output[-20000:])
    print(summary(outcomes))
    print(f"reports: {options.report_dir}")
    return 0 if all(outcome.passed for outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
