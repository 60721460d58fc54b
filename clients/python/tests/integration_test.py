"""Integration test of the Python client against a real `ledger serve` on a real PostgreSQL
(started by the C++ test `serve/python_client_places_and_reads_bets`, which passes the URL).

Places, confirms, flags, claws back and refunds bets, reads them back, and retries an append whose
answer was "lost": the retry is a duplicate with the same seq and hash, never a second event.
Exits non-zero with a message on the first failed check."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from degenhouse_ledger import LedgerClient, LedgerError  # noqa: E402

WALLET_A = "0x" + "a1" * 20
WALLET_B = "0x" + "b2" * 20
TX = "0x" + "c3" * 32
CLAWBACK_TX = "0x" + "d4" * 32


def check(condition, what):
    if not condition:
        print("FAILED:", what, file=sys.stderr)
        sys.exit(1)


def main(url):
    ledger = LedgerClient(url)
    [created] = ledger.append({
        "action": "MARKET_CREATED", "createdAt": "2026-01-15T00:00:00Z", "marketId": "py-market",
        "question": "Will the client work?", "startDate": "2026-01-15T00:00:00Z",
        "endDate": "2030-01-01T00:00:00Z",
        "contractAddress": "0x8eae8949000b53c91a38f74b3ab18a7514ec235c",
        "gnosisSafeAddress": "0x000dbaffe2b44167b769bfc0f5df2a8ce37f9531"})
    check(created["status"] == "accepted", f"market created: {created}")

    def placed(bet, wallet, number, amount, choice):
        return {"action": "PLACED", "createdAt": "2026-01-16T00:00:00Z", "betId": bet,
                "marketId": "py-market", "wallet": wallet, "choice": choice, "amount": amount,
                "betNumber": number}

    results = ledger.append(placed("py-1", WALLET_A, 1, 10_000_000, "YES"),
                            placed("py-2", WALLET_B, 1, 4_000_000, "NO"),
                            {"action": "CONFIRMED", "createdAt": "2026-01-16T00:01:00Z",
                             "betId": "py-1", "txHash": TX},
                            {"action": "CONFIRMED", "createdAt": "2026-01-16T00:01:00Z",
                             "betId": "py-2"})
    check([r["status"] for r in results] == ["accepted"] * 4, f"placed and confirmed: {results}")

    # The answer to this request is "lost": the same event (same eventId) is sent again.
    flag = {"action": "FLAGGED", "createdAt": "2026-01-16T00:02:00Z", "betId": "py-2",
            "reason": "wash trading", "severity": "HIGH"}
    [first] = ledger.append(flag)
    [retry] = ledger.append(flag)
    check(first["status"] == "accepted", f"flagged: {first}")
    check(retry["status"] == "duplicate" and retry["seq"] == first["seq"] and
          retry["hash"] == first["hash"], f"retry is the same event: {first} / {retry}")
    check(ledger.event_by_id(flag["eventId"])["seq"] == first["seq"], "event settled by its id")

    [clawed] = ledger.append({"action": "CLAWED_BACK", "createdAt": "2026-01-16T00:03:00Z",
                              "betId": "py-2", "clawbackAmount": 4_000_000})
    check(clawed["status"] == "accepted", f"clawed back: {clawed}")
    [refunded] = ledger.append({"action": "REFUNDED", "createdAt": "2026-01-16T00:04:00Z",
                                "betId": "py-2", "clawbackTxHash": CLAWBACK_TX})
    check(refunded["status"] == "accepted", f"refunded: {refunded}")
    [bad] = ledger.append({"action": "CONFIRMED", "createdAt": "2026-01-16T00:05:00Z",
                           "betId": "no-such-bet"})
    check(bad["status"] == "rejected" and bad["code"] == "BET_NOT_FOUND", f"rejected: {bad}")

    bet = ledger.bet("py-2")
    check(bet["status"] == "CLAWED_BACK" and bet["refunded"] and bet["clawbackAmount"] == 4_000_000,
          f"bet read back: {bet}")
    check(len(bet["seqs"]) == 5, f"the bet's five events: {bet['seqs']}")
    market = ledger.market("py-market")
    check(market["yesPool"] == 10_000_000 and market["noPool"] == 0, f"pools: {market}")
    check(market["totalBets"] == 1 and market["uniqueWallets"] == 1, f"statistics: {market}")
    check([b["betId"] for b in ledger.wallet_bets(WALLET_A)] == ["py-1"], "wallet's bets")
    check(ledger.head()["seq"] == 8, f"head: {ledger.head()}")
    check([e["seq"] for e in ledger.events()] == list(range(1, 9)), "the log, paged")
    check([e["action"] for e in ledger.events(bet="py-2")] ==
          ["PLACED", "CONFIRMED", "FLAGGED", "CLAWED_BACK", "REFUNDED"], "a bet's events")
    check([e["betId"] for e in ledger.events(actions=["CLAWED_BACK", "REFUNDED"])] ==
          ["py-2", "py-2"], "events of two actions")
    check([e["action"] for e in ledger.events(since="2026-01-16T00:04:00Z")] == ["REFUNDED"],
          "events since a time")
    check([e["action"] for e in ledger.events(market="py-market", before="2026-01-16T00:01:00Z")]
          == ["MARKET_CREATED", "PLACED", "PLACED"], "a market's events before a time")
    try:
        ledger.bet("nobody")
        check(False, "an unknown bet is an error")
    except LedgerError as e:
        check(e.status == 404 and e.code == "NOT_FOUND", f"unknown bet: {e}")
    print("python client: all checks passed")


if __name__ == "__main__":
    main(sys.argv[1])
