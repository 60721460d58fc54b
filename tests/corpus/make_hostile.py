#!/usr/bin/env python3
"""Writes hostile.jsonl and hostile.expected: the hostile-input corpus `ledger append` is tested on
(tests/cli_test.cc). Line i of hostile.expected (after its header) says what must happen to line i
of hostile.jsonl: OK (accepted) or the stable error code. Edit this script, re-run it from this
folder, and commit all three files."""
import json

W = "0x282BEcD3cB739c9fa8bbbEa64beDc790e2753b30"
SAFE = "0x000dbaffe2b44167b769bfc0f5df2a8ce37f9531"
clock = [0]
bets = [0]
entries = []


def ts():
    clock[0] += 1
    return "2026-03-01T00:%02d:%02d.000000Z" % (clock[0] // 60, clock[0] % 60)


def add(code, line, why):
    if isinstance(line, str):
        line = line.encode()
    assert b"\n" not in line
    entries.append((code, line, why))


def obj(**fields):
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)


market = dict(action="MARKET_CREATED", createdAt=ts(), marketId="hostile-m1",
              question="Will the corpus pass?", startDate="2026-03-01T00:00:00Z",
              endDate="2027-03-01T00:00:00Z",
              contractAddress="0x8eae8949000b53c91a38f74b3ab18a7514ec235c",
              gnosisSafeAddress=SAFE)


def placed(**over):
    """A valid PLACED of a new bet (its own wallet, so bet number 1 is free), then `over`."""
    bets[0] += 1
    d = dict(action="PLACED", createdAt=ts(), betId="hb-%04d" % bets[0], marketId="hostile-m1",
             wallet="0x%040x" % (0xabc000 + bets[0]), choice="YES", amount=1000000, betNumber=1)
    d.update(over)
    return d


def good(why):
    add("OK", obj(**placed()), why)


add("OK", obj(**market), "the market the good lines use")
add("OK", obj(**placed(wallet=W)), "a good bet (hb-0001)")
add("OK", obj(action="CONFIRMED", createdAt=ts(), betId="hb-0001"), "its confirmation")
# The shape of the line.
add("MALFORMED_JSON", '{"action":"PLACED","betId":"hb-x"', "truncated JSON")
add("MALFORMED_JSON", '{action: PLACED}', "unquoted keys")
add("MALFORMED_JSON", '{"action":"CONFIRMED","betId":"hb-0001"} trailing', "garbage after the object")
add("MALFORMED_JSON", '{"action":"CONFIRMED","betId":"hb-0001",}', "a trailing comma")
add("MALFORMED_JSON", b'{"action":"FLAGGED","betId":"hb-0001","reason":"bad \xff\xfe bytes"}',
    "invalid UTF-8")
add("MALFORMED_JSON", b'{"action":"FLAGGED","betId":"hb-0001","reason":"overlong \xc0\xaf"}',
    "an overlong UTF-8 encoding")
add("MALFORMED_JSON", b"\xef\xbb\xbf" + obj(**placed()).encode(), "a byte-order mark before the object")
add("MALFORMED_JSON", '{"action":"PLACED","x":' + "[" * 5000 + "]" * 5000 + "}", "5000 levels of nesting")
good("a good line between bad ones")
add("LINE_TOO_LONG", obj(**placed(question="x" * 70000)), "a line past the 64 KiB limit")
add("NOT_AN_OBJECT", "[1,2,3]", "an array")
add("NOT_AN_OBJECT", '"PLACED"', "a string")
add("NOT_AN_OBJECT", "null", "null")
add("MISSING_ACTION", '{"betId":"hb-0001","createdAt":"%s"}' % ts(), "no action")
add("UNKNOWN_ACTION", obj(action="DELETED", betId="hb-0001"), "an action that does not exist")
add("UNKNOWN_ACTION", obj(action="placed", betId="hb-0001"), "actions are case-sensitive")
add("UNKNOWN_FIELD", obj(**placed(isAdmin=True)), "an unknown field")
add("DUPLICATE_KEY", obj(**placed())[:-1] + ',"amount":5}', "amount given twice")
add("MISSING_FIELD", obj(action="CONFIRMED", createdAt=ts()), "no betId")
add("MISSING_FIELD", obj(**placed(amount=None)), "amount null counts as absent")
# Numbers.
add("AMOUNT_NOT_INTEGER", obj(**placed(amount="1000000")), "an amount as a string")
add("AMOUNT_NOT_INTEGER", obj(**placed(amount=True)), "an amount as a boolean")
add("AMOUNT_NOT_INTEGER", obj(**placed()).replace('"amount":1000000', '"amount":1000000.5'), "a float amount")
add("AMOUNT_NOT_INTEGER", obj(**placed()).replace('"amount":1000000', '"amount":1e6'), "an exponent")
add("AMOUNT_OUT_OF_RANGE", obj(**placed()).replace('"amount":1000000', '"amount":9223372036854775808'), "2^63")
add("AMOUNT_OUT_OF_RANGE", obj(**placed()).replace('"amount":1000000', '"amount":18446744073709551616'), "2^64")
add("AMOUNT_OUT_OF_RANGE", obj(**placed(amount=-1000000)), "a negative amount")
add("AMOUNT_OUT_OF_RANGE", obj(**placed(amount=0)), "a zero amount")
add("INVALID_BET_NUMBER", obj(**placed(betNumber=0)), "bet number 0")
add("INVALID_BET_NUMBER", obj(**placed(betNumber=1 << 40)), "bet number 2^40")
good("another good bet")
# Wallets, addresses and hashes.
add("INVALID_WALLET", obj(**placed(wallet=W[:-1])), "a wallet one digit short")
add("INVALID_WALLET", obj(**placed(wallet=W + "0")), "a wallet one digit long")
add("INVALID_WALLET", obj(**placed(wallet=W[:-1] + "g")), "a non-hex digit")
add("INVALID_WALLET", obj(**placed(wallet=W[2:] + "00")), "no 0x prefix")
add("INVALID_WALLET", obj(**placed(wallet=W[:-1] + "\u0430")), "a Cyrillic look-alike of 'a'")
add("INVALID_WALLET", obj(**placed(wallet="\uff10\uff58" + W[2:])), "a full-width 0x")
add("INVALID_ADDRESS", obj(**dict(market, marketId="hostile-m2", createdAt=ts(),
                                   contractAddress="0x8eae8949000b53c91a38f74b3ab18a7514ec235z")),
    "a non-hex contract address")
add("INVALID_TX_HASH", obj(action="CONFIRMED", createdAt=ts(), betId="hb-0001", txHash="0x1234"),
    "a short transaction hash")
# Timestamps.
add("INVALID_TIMESTAMP", obj(**placed(createdAt="2026-03-01T00:00:06")), "no time zone")
add("INVALID_TIMESTAMP", obj(**placed(createdAt="2026-13-01T00:00:00Z")), "month 13")
add("INVALID_TIMESTAMP", obj(**placed(createdAt="10000-01-01T00:00:00Z")), "year 10000")
add("INVALID_TIMESTAMP", obj(**placed(createdAt="yesterday")), "words")
add("FIELD_TYPE", obj(**placed(createdAt=1767225600)), "a timestamp as a number")
add("END_BEFORE_START", obj(**dict(market, marketId="hostile-m3", createdAt=ts(),
                                    endDate="2026-02-01T00:00:00Z")), "a market that ends before it starts")
# Other values.
add("INVALID_CHOICE", obj(**placed(choice="MAYBE")), "a third side")
add("INVALID_SEVERITY", obj(action="FLAGGED", createdAt=ts(), betId="hb-0001", reason="x",
                            severity="APOCALYPTIC"), "an unknown severity")
add("INVALID_ID", obj(**placed(betId="hb\u0007bell")), "a control character in an id")
add("INVALID_ID", obj(**placed(betId="")), "an empty id")
add("INVALID_ID", obj(**placed(marketId="hostile m1")), "a space in an id")
good("a good line after many bad ones")
# The ledger's rules.
add("MARKET_NOT_FOUND", obj(**placed(marketId="no-such-market")), "a bet on a market that does not exist")
add("BET_NOT_FOUND", obj(action="CONFIRMED", createdAt=ts(), betId="hb-none"), "confirming a bet that does not exist")
add("BET_NUMBER_TAKEN", obj(**placed(wallet=W)), "the bet number hb-0001's wallet already used")
add("IDENTITY_CONFLICT", obj(**dict(placed(wallet=W), betId="hb-0001", amount=2000000)),
    "bet hb-0001 again with another amount")
add("CLAWBACK_EXCEEDS_AMOUNT", obj(action="CLAWED_BACK", createdAt=ts(), betId="hb-0001", reason="x",
                                   clawbackAmount=2000000), "a clawback larger than the bet")
# SQL fragments in the text fields: stored verbatim, never executed.
add("OK", obj(**dict(market, createdAt=ts(), marketId="m4';DROP/**/TABLE\"BetHistory\";--",
                     question="'); DELETE FROM \"Bet\"; --")), "SQL in a market id and a question")
add("OK", obj(action="FLAGGED", createdAt=ts(), betId="hb-0001",
              reason="x'); TRUNCATE \"BetHistory\"; --", severity="HIGH"), "SQL in a reason")
add("OK", obj(**placed(betId="hb-'||pg_sleep(10)||'")), "SQL in a bet id")

with open("hostile.jsonl", "wb") as f:
    for _, line, _ in entries:
        f.write(line + b"\n")
with open("hostile.expected", "w") as f:
    f.write("# Line i below is what `ledger append` must do with line i of hostile.jsonl: OK\n"
            "# (accepted) or the stable error code, then why the line is there. Made by make_hostile.py.\n")
    for code, _, why in entries:
        f.write("%s %s\n" % (code, why))
