"""LedgerClient: append events, read bets, markets and a wallet's bets, follow the log."""

import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

# Attempts of one request before giving up: with the doubling wait below, about 30 s in all,
# enough for the service to restart or the database to fail over.
RETRIES_MAX = 8
RETRY_WAIT_MIN_S = 0.1
RETRY_WAIT_MAX_S = 5.0
# A single request's deadline: an append is acknowledged in milliseconds; 10 s means it is stuck.
TIMEOUT_S = 10.0


class LedgerError(Exception):
    """The ledger refused a request: `status` (HTTP), `code` (docs/api.md) and `body`."""

    def __init__(self, status, code, message, body=None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.body = body


class LedgerUnavailable(LedgerError):
    """The ledger stayed unavailable (503, timeouts, refused connections) through every retry."""


class LedgerClient:
    def __init__(self, base_url, token=None, timeout_s=TIMEOUT_S, retries_max=RETRIES_MAX):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s
        self.retries_max = retries_max

    # Writes ------------------------------------------------------------------------------

    def append(self, *events):
        """Appends events (dicts, in order, in one request) and returns one result per event:
        {"status": "accepted"|"duplicate"|"rejected", "seq", "hash", "code", "message"}.
        Events without an eventId get one first (the dicts are updated), so retries are safe."""
        for event in events:
            event.setdefault("eventId", str(uuid.uuid4()))
        body = "\n".join(json.dumps(e, separators=(",", ":")) for e in events).encode()
        status, reply = self._request("POST", "/v1/events", body, "application/x-ndjson")
        return reply["results"]

    # Reads -------------------------------------------------------------------------------

    def head(self):
        return self._get("/v1/head")

    def event(self, seq):
        return self._get(f"/v1/events/{int(seq)}")

    def event_by_id(self, event_id):
        """The committed event with this eventId, or None: settles a request whose answer was lost."""
        try:
            return self._get("/v1/events?" + urllib.parse.urlencode({"eventId": event_id}))
        except LedgerError as e:
            if e.status == 404:
                return None
            raise

    def bet(self, bet_id):
        return self._get("/v1/bets/" + urllib.parse.quote(bet_id, safe=""))

    def market(self, market_id):
        return self._get("/v1/markets/" + urllib.parse.quote(market_id, safe=""))

    def wallet_bets(self, wallet):
        """Every bet the wallet placed, following the pages."""
        after = 0
        while True:
            page = self._get(f"/v1/wallets/{urllib.parse.quote(wallet, safe='')}/bets"
                             f"?limit=1000&after={after}")
            yield from page["bets"]
            if page["next"] is None:
                return
            after = page["next"]

    def events(self, after=0, bet=None, market=None, wallet=None, actions=None, since=None,
               before=None):
        """The log from position `after` on, page by page, up to its current head; with filters,
        only the rows matching every one given (an audit's look-ups): a bet's events, a market's,
        a wallet's, some actions (a list), event times `since` <= createdAt < `before` (RFC 3339
        strings)."""
        filters = {"bet": bet, "market": market, "wallet": wallet, "since": since,
                   "before": before, "action": ",".join(actions) if actions else None}
        query = urllib.parse.urlencode({k: v for k, v in filters.items() if v is not None})
        while True:
            page = self._get(f"/v1/events?after={int(after)}&limit=1000"
                             + (f"&{query}" if query else ""))
            yield from page["events"]
            if page["next"] is None:
                return
            after = page["next"]

    # Plumbing ----------------------------------------------------------------------------

    def _get(self, path):
        return self._request("GET", path, None, None)[1]

    def _request(self, method, path, body, content_type):
        wait = RETRY_WAIT_MIN_S
        last = None
        for attempt in range(self.retries_max + 1):
            if attempt:
                time.sleep(wait)
                wait = min(wait * 2, RETRY_WAIT_MAX_S)
            request = urllib.request.Request(self.base_url + path, data=body, method=method)
            if content_type:
                request.add_header("Content-Type", content_type)
            if self.token:
                request.add_header("Authorization", "Bearer " + self.token)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    return response.status, json.loads(response.read())
            except urllib.error.HTTPError as e:
                text = e.read()
                try:
                    reply = json.loads(text)
                except ValueError:
                    reply = {"error": "NOT_JSON", "message": text[:200].decode(errors="replace")}
                if e.code == 503:
                    last = LedgerUnavailable(e.code, reply.get("error"), reply.get("message"), reply)
                    retry_after = e.headers.get("Retry-After")
                    if retry_after and retry_after.isdigit():
                        wait = max(wait, float(retry_after))
                    continue
                if "results" in reply:  # A single event's rejection: its result is the answer.
                    return e.code, reply
                raise LedgerError(e.code, reply.get("error"), reply.get("message"), reply)
            except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
                last = LedgerUnavailable(0, "UNREACHABLE", str(e))
        raise last
