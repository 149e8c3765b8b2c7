"""Token revocation per account: every token issued to an account before a moment stops
working, on every route, including tokens TokenCheck remembered as verified.

One time per account ("tokens issued before this are void"), kept in memory so a request
costs one dict look-up and no database trip. The auth service owns the times (its `users`
table), loads them here at start-up and moves one on when it voids an account's tokens: a
password reset today; a password change or a deleted account use the same call.

Split deployment: only the process that runs the auth service learns of a revocation at
once. Other processes that verify tokens (a gateway without auth, a services process)
keep accepting a voided token until it expires ([auth] token_ttl_seconds), or until they
restart (they load nothing: the times live in auth's database). Keep token_ttl_seconds short
where that matters.
"""

from __future__ import annotations

from collections.abc import Iterable


class TokenRevocations:
    def __init__(self) -> None:
        self._valid_after: dict[int, float] = {}  # user id -> unix time

    def void_tokens_issued_before(self, user_id: int, moment: float) -> None:
        if moment > self._valid_after.get(user_id, 0.0):
            self._valid_after[user_id] = moment

    def load(self, times: Iterable[tuple[int, float]]) -> None:
        for user_id, moment in times:
            self.void_tokens_issued_before(user_id, moment)

    def accepts(self, user_id: int, issued_at: float) -> bool:
        valid_after = self._valid_after.get(user_id)
        return valid_after is None or issued_at >= valid_after
