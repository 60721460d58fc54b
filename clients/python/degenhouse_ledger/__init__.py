"""A small client for `ledger serve` (docs/api.md), standard library only.

    from degenhouse_ledger import LedgerClient
    ledger = LedgerClient("http://127.0.0.1:8080", token=None)
    [result] = ledger.append({"action": "PLACED", ...})   # result["status"] == "accepted"
    ledger.bet("bet-1")["status"]

Every event without an eventId is given a fresh UUID before the first send, so a retry (after a
timeout, a lost connection or a 503) can never append it twice: the ledger answers "duplicate" with
the seq and hash of the event that did commit.
"""

from .client import LedgerClient, LedgerError, LedgerUnavailable

__all__ = ["LedgerClient", "LedgerError", "LedgerUnavailable"]
