#!/usr/bin/env python3
"""Known-answer vectors for Vonage's signed webhooks, judged by Vonage's own
SDK, and a check of the shared vectors against it.

    pip install vonage-jwt==1.1.5
    python3 tests/vectors/gen_vonage.py > tests/vectors/vonage_sdk.json

Vonage signs each webhook with a JWT (HS256, the account's signature
secret) in `Authorization: Bearer`; its `payload_hash` claim is the hex
SHA-256 of the raw body (an empty body for a GET). The tokens are made
here with PyJWT (the library the SDK verifies with) over real webhook
bodies; `sdk_valid` is what `vonage_jwt.verify_signature` says (it checks
the HS256 signature only). `expected_valid` adds what pingate requires
beyond the SDK, as Vonage's guide tells integrators to: `payload_hash`
equal to the body's SHA-256, `iat` within 300 s of the vector's `now`, and
a `jti` (replays of a `jti` are refused by the server, not here).

Before writing, every vector of tests/vectors/vonage.json (copied from
the shared set) is put to the SDK too, and the script stops if the SDK's
verdict on its signature disagrees with the vector.
"""

import hashlib
import json
import os
import sys
from importlib import metadata

import jwt
from vonage_jwt import verify_signature
from vonage_jwt.errors import VonageVerifyJwtError

SECRET = "ZYtdTtGV3BCFN7tWmOWr1md66XsquMggr4W2cTtXtcPgfnI0Xw"
OTHER_SECRET = "qwertyuiopasdfghjklzxcvbnm123456"
NOW = 1_700_000_000
SDK = f"vonage-jwt {metadata.version('vonage-jwt')} (verify_signature)"
HERE = os.path.dirname(os.path.abspath(__file__))


def compact(value):
    return json.dumps(value, separators=(",", ":"))


CALL = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"
ANSWER = compact({"from": "447700900000", "to": "447700900001", "uuid": CALL,
                  "conversation_uuid": "CON-aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
                  "region_url": "https://api-eu-1.vonage.com"})
INPUT = compact({"speech": {"results": []}, "dtmf": {"digits": "40012345", "timed_out": False},
                 "from": "447700900000", "to": "447700900001", "uuid": CALL,
                 "conversation_uuid": "CON-aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
                 "timestamp": "2023-11-14T22:13:20.000Z"})
EVENT = compact({"from": "447700900000", "to": "447700900001", "uuid": CALL,
                 "conversation_uuid": "CON-aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
                 "status": "completed", "direction": "inbound", "duration": "42",
                 "timestamp": "2023-11-14T22:13:20.000Z"})
RECEIPT = compact({"msisdn": "447700900000", "to": "18005550122", "network-code": "23410",
                   "messageId": "0A0000001234567B", "price": "0.03330000", "status": "delivered",
                   "scts": "2311142213", "err-code": "0", "api-key": "a1b2c3d4",
                   "message-timestamp": "2023-11-14 22:13:20"})


def sha256(body):
    return hashlib.sha256(body.encode()).hexdigest()


def claims(body, iat=NOW, jti="c5ba8f24-1a14-4c10-bfdf-3fbe8ce511b5", **extra):
    c = {"iat": iat, "jti": jti, "iss": "Vonage", "payload_hash": sha256(body),
         "api_key": "a1b2c3d4", "application_id": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"}
    c.update(extra)
    return {k: v for k, v in c.items() if v is not None}


def token(c, secret=SECRET, alg="HS256"):
    return jwt.encode(c, secret, algorithm=alg)


def sdk_verdict(tok, secret=SECRET):
    try:
        return verify_signature(tok, secret), None
    except VonageVerifyJwtError as e:
        return False, str(e)


def policy(body, tok, now):
    """pingate's checks beyond the signature, on the unverified claims."""
    c = jwt.decode(tok, options={"verify_signature": False})
    if not isinstance(c.get("payload_hash"), str) or c["payload_hash"].lower() != sha256(body):
        return "payload_hash is not the body's SHA-256"
    if not isinstance(c.get("iat"), (int, float)) or abs(now - c["iat"]) > 300:
        return "iat more than 300 s from now"
    if not c.get("jti"):
        return "no jti"
    return None


def vector(vid, body, tok, method="POST", now=NOW, note="", authorization=None):
    headers = {"Authorization": authorization if authorization is not None else f"Bearer {tok}"}
    sdk_valid, sdk_error = sdk_verdict(tok)
    refusal = None if not sdk_valid else policy(body, tok, now)
    return {
        "id": vid, "provenance": "sdk", "sdk": SDK, "secret": SECRET, "method": method,
        "content_type": None if method == "GET" else "application/json",
        "body": body, "headers": headers, "now": now,
        "expected_payload_hash": sha256(body),
        "sdk_valid": sdk_valid, "sdk_error": sdk_error,
        "expected_valid": sdk_valid and refusal is None and authorization is None,
        "refusal": refusal, "notes": note,
    }


def vectors():
    good = token(claims(ANSWER))
    forged = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    none_alg = jwt.encode(claims(ANSWER), None, algorithm="none")
    return [
        vector("vg-answer-get", "", token(claims("")), method="GET",
               note="answer_url as a GET: the token hashes the empty body"),
        vector("vg-answer-post", ANSWER, good, note="answer_url as a POST of JSON"),
        vector("vg-input-dtmf", INPUT, token(claims(INPUT, jti="0f7e4a3c-input")), note="input action result"),
        vector("vg-event-completed", EVENT, token(claims(EVENT, jti="0f7e4a3c-event")), note="call ended"),
        vector("vg-receipt-json", RECEIPT, token(claims(RECEIPT, jti="0f7e4a3c-dlr")),
               note="SMS API delivery receipt (POST-JSON)"),
        vector("vg-edge-past", ANSWER, good, now=NOW + 300, note="iat 300 s ago: still fresh"),
        vector("vg-edge-future", ANSWER, good, now=NOW - 300, note="iat 300 s ahead: still fresh"),
        vector("vg-stale", ANSWER, good, now=NOW + 301, note="iat 301 s ago"),
        vector("vg-future", ANSWER, good, now=NOW - 301, note="iat 301 s ahead"),
        vector("vg-tampered-body", ANSWER.replace("447700900000", "447700900009"), good,
               note="the signed token with another caller in the body"),
        vector("vg-wrong-secret", ANSWER, token(claims(ANSWER), secret=OTHER_SECRET),
               note="signed with another secret"),
        vector("vg-tampered-signature", ANSWER, forged, note="the signature's last characters changed"),
        vector("vg-alg-none", ANSWER, none_alg, note="alg none"),
        vector("vg-alg-hs512", ANSWER, token(claims(ANSWER), alg="HS512"), note="HS512, not HS256"),
        vector("vg-no-jti", ANSWER, token(claims(ANSWER, jti=None)), note="no jti: replays undetectable"),
        vector("vg-no-payload-hash", ANSWER, token(claims(ANSWER, payload_hash=None)),
               note="no payload_hash: the body is not covered"),
        vector("vg-empty-post", "", token(claims("")), note="a POST with an empty body"),
        vector("vg-not-bearer", ANSWER, good, authorization=f"Basic {good}",
               note="the token under another scheme"),
    ]


def check_shared():
    path = os.path.join(HERE, "vonage.json")
    for v in json.load(open(path)):
        tok = v["headers"]["Authorization"].split(" ", 1)[1]
        valid, error = sdk_verdict(tok, v["secret"])
        signature_ok = v["expected_valid"] or v["id"] in ("vg-event-body-tampered", "vg-event-stale-iat")
        if valid != signature_ok:
            sys.exit(f"{v['id']}: the SDK says {valid} ({error}), the vector {signature_ok}")
        print(f"shared {v['id']}: SDK signature verdict {valid}", file=sys.stderr)


if __name__ == "__main__":
    check_shared()
    json.dump(vectors(), sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
