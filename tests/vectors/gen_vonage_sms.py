#!/usr/bin/env python3
"""Known-answer vectors for the SMS API's signed delivery receipts (the
`sig` parameter), judged by Vonage's own SDK.

    python3 -m venv /tmp/vg3 && /tmp/vg3/bin/pip install vonage==3.18.0
    /tmp/vg3/bin/python tests/vectors/gen_vonage_sms.py > tests/vectors/vonage_sms_sdk.json

The SMS API signs its webhooks with the account's signature secret (the
dashboard's "Signing messages" setting). The receipts are signed here with
the SDK's own `Client.signature` (signature method "sha256", the
dashboard's "SHA-256 HMAC"), and `sdk_valid` is what
`Client.check_signature` says. (The v3 SDK is the one with these two
functions; v4 leaves SMS signing out, and `vonage-jwt` covers the JWTs.)
`expected_valid` adds pingate's freshness rule: `timestamp` within 300 s
of the vector's `now`; and pingate accepts the SHA-256 HMAC method only.
"""

import json
import sys
import urllib.parse
import warnings
from importlib import metadata

warnings.simplefilter("ignore", DeprecationWarning)
import vonage  # noqa: E402

SECRET = "ZYtdTtGV3BCFN7tWmOWr1md66XsquMggr4W2cTtXtcPgfnI0Xw"
NOW = 1_700_000_000
SDK = f"vonage {metadata.version('vonage')} (Client.check_signature, signature_method sha256)"


def client(secret=SECRET, method="sha256"):
    return vonage.Client(key="a1b2c3d4", secret="x", signature_secret=secret, signature_method=method)


def receipt(status="delivered", ts=NOW, **extra):
    p = {"msisdn": "447700900000", "to": "18005550122", "network-code": "23410",
         "messageId": "0A0000001234567B", "price": "0.03330000", "status": status,
         "scts": "2311142213", "err-code": "0", "api-key": "a1b2c3d4",
         "message-timestamp": "2023-11-14 22:13:20", "timestamp": str(ts)}
    p.update(extra)
    return p


def signed(params, c=None):
    p = dict(params)
    p["sig"] = (c or client()).signature(dict(params))
    return p


def vector(vid, params, now=NOW, as_json=False, note=""):
    sdk_valid = client().check_signature(dict(params))
    ts = params.get("timestamp", "")
    fresh = ts.isdigit() and abs(now - int(ts)) <= 300
    text = json.dumps(params, separators=(",", ":")) if as_json else urllib.parse.urlencode(params)
    return {
        "id": vid, "provenance": "sdk", "sdk": SDK, "secret": SECRET,
        "json": as_json, "text": text, "now": now,
        "sdk_valid": sdk_valid, "expected_valid": sdk_valid and fresh, "notes": note,
    }


def vectors():
    good = signed(receipt())
    upper = dict(good, sig=good["sig"].upper())
    tampered = dict(good, status="failed")
    odd = signed(receipt(**{"client-ref": "a&b=c d"}))
    md5 = signed(receipt(), client(method="md5"))
    md5_hash = signed(receipt(), client(method=None))
    no_ts = receipt()
    del no_ts["timestamp"]
    return [
        vector("vs-receipt-form", good, note="a receipt as a form or query (POST, GET)"),
        vector("vs-receipt-json", good, as_json=True, note="a receipt as JSON (POST-JSON)"),
        vector("vs-rejected", signed(receipt("rejected", **{"err-code": "6"})), note="a refusal"),
        vector("vs-escaped-value", odd, note="& and = in a value are signed as _"),
        vector("vs-uppercase-sig", upper, note="the SDK compares sig in lower case"),
        vector("vs-edge-past", good, now=NOW + 300, note="300 s old: still fresh"),
        vector("vs-edge-future", good, now=NOW - 300, note="300 s ahead: still fresh"),
        vector("vs-stale", good, now=NOW + 301, note="301 s old"),
        vector("vs-future", good, now=NOW - 301, note="301 s ahead"),
        vector("vs-tampered-status", tampered, note="status changed after signing"),
        vector("vs-wrong-secret", signed(receipt(), client(secret="another-secret")), note="another secret"),
        vector("vs-md5-hmac", md5, note="MD5 HMAC: not the SHA-256 HMAC method"),
        vector("vs-md5-hash", md5_hash, note="the dashboard's default MD5 hash: refused"),
        vector("vs-no-sig", receipt(), note="unsigned"),
        vector("vs-no-timestamp", signed(no_ts), note="signed without a timestamp (the SDK adds now's)"),
    ]


if __name__ == "__main__":
    json.dump(vectors(), sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
