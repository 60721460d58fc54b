"""Places a few bets through `ledger serve` the way the FastAPI backend would, one click at a time,
and prints each result and the market's statistics. Used by scripts/demo.

    python3 clients/python/examples/place_bets.py http://127.0.0.1:8080

It opens a market of its own first (fresh ids on every run), so it works on any log.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from degenhouse_ledger import LedgerClient  # noqa: E402


def main(url):
    ledger = LedgerClient(url)
    run = int(time.time())  # Fresh ids on every demo run.
    market_id = f"demo-market-{run}"
    wallet = "0x" + f"{run:040x}"[-40:]
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    ends = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 30 * 86400))
    clicks = [
        {"action": "MARKET_CREATED", "createdAt": now, "marketId": market_id,
         "question": "Will the demo place its bets?", "startDate": now, "endDate": ends,
         "contractAddress": "0x8eae8949000b53c91a38f74b3ab18a7514ec235c",
         "gnosisSafeAddress": "0x000dbaffe2b44167b769bfc0f5df2a8ce37f9531"},
        {"action": "PLACED", "createdAt": now, "betId": f"demo-{run}-1", "marketId": market_id,
         "wallet": wallet, "choice": "YES", "amount": 25_000_000, "betNumber": 1},
        {"action": "CONFIRMED", "createdAt": now, "betId": f"demo-{run}-1"},
        {"action": "PLACED", "createdAt": now, "betId": f"demo-{run}-2", "marketId": market_id,
         "wallet": wallet, "choice": "NO", "amount": 10_000_000, "betNumber": 2},
        {"action": "CONFIRMED", "createdAt": now, "betId": f"demo-{run}-2"},
        {"action": "CONFIRMED", "createdAt": now, "betId": f"demo-{run}-2"},  # Twice: the second is refused.
    ]
    for event in clicks:
        started = time.perf_counter()
        [result] = ledger.append(event)
        ms = (time.perf_counter() - started) * 1000
        print(f"  {event['action']:<14} {event.get('betId', market_id):<24} -> {result['status']:<9} "
              f"seq={result['seq']} code={result['code']} ({ms:.1f} ms)")
    market = ledger.market(market_id)
    print("  market:", json.dumps({k: market[k] for k in
                                   ("marketId", "yesPool", "noPool", "yesPercent", "totalBets",
                                    "uniqueWallets")}))


if __name__ == "__main__":
    main(sys.argv[1])
