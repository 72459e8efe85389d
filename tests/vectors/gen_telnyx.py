#!/usr/bin/env python3
"""Known-answer vectors for Telnyx webhook signatures, judged by Telnyx's
own SDK.

    pip install telnyx pynacl
    python3 tests/vectors/gen_telnyx.py > tests/vectors/telnyx.json

Telnyx signs `telnyx-timestamp|raw body` with Ed25519 and sends the
base64 signature in `telnyx-signature-ed25519`. The SDK only verifies
(Telnyx holds the private key), so the requests are signed here with our
own key pair (PyNaCl, the library the SDK verifies with) and each vector's
`expected_valid` is what `telnyx.lib.webhook_verification
.verify_webhook_signature` says at the vector's `now`.
"""

import base64
import json
import sys
from importlib import metadata

import nacl.signing
import telnyx.lib.webhook_verification as sdk

SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
OTHER_SEED = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
NOW = 1_700_000_000

KEY = nacl.signing.SigningKey(SEED)
OTHER = nacl.signing.SigningKey(OTHER_SEED)
PUBLIC = base64.b64encode(bytes(KEY.verify_key)).decode()

VOICE = (
    "AccountSid=a1b2c3&CallSid=v3%3AMdI91X4lWFEs7IgbBEOT9M4AigoY08M0WWZFISt1Yw2axZ_IiE4pqg"
    "&CallStatus=ringing&Direction=inbound&From=%2B14155550100&To=%2B18005550100"
    "&ShakenStirAttestation=A&ShakenStirValidated=true"
)
EVENT = json.dumps(
    {
        "data": {
            "event_type": "message.finalized",
            "id": "b301ed3f-1490-491f-995f-6e64e69674d4",
            "occurred_at": "2023-11-14T22:13:20.000+00:00",
            "payload": {
                "id": "40385f64-5717-4562-b3fc-2c963f66afa6",
                "to": [{"phone_number": "+14155550199", "status": "delivered"}],
                "errors": [],
            },
            "record_type": "event",
        },
        "meta": {"attempt": 1, "delivered_to": "https://gw.example/webhooks/telnyx/message-status"},
    },
    separators=(",", ":"),
)


def sign(key, timestamp, body):
    payload = f"{timestamp}|{body}".encode()
    return base64.b64encode(key.sign(payload).signature).decode()


def judge(body, headers, now):
    real_time = sdk.time.time
    sdk.time.time = lambda: now
    try:
        sdk.verify_webhook_signature(body, headers, PUBLIC)
        return True, None
    except sdk.WebhookVerificationError as e:
        return False, e.message
    finally:
        sdk.time.time = real_time


def vector(vid, body, content_type, timestamp, signature, now=NOW, note=""):
    headers = {}
    if signature is not None:
        headers["telnyx-signature-ed25519"] = signature
    if timestamp is not None:
        headers["telnyx-timestamp"] = str(timestamp)
    valid, error = judge(body, headers, now)
    return {
        "id": vid,
        "provenance": "sdk",
        "sdk": f"telnyx {metadata.version('telnyx')} (telnyx.lib.webhook_verification)",
        "public_key": PUBLIC,
        "body": body,
        "content_type": content_type,
        "headers": headers,
        "now": now,
        "expected_valid": valid,
        "sdk_error": error,
        "notes": note,
    }


def vectors():
    form = "application/x-www-form-urlencoded"
    js = "application/json"
    ts = NOW
    good = sign(KEY, ts, VOICE)
    return [
        vector("tx-texml-voice", VOICE, form, ts, good, note="TeXML inbound call"),
        vector("tx-message-event", EVENT, js, ts, sign(KEY, ts, EVENT), note="Messaging API v2 event"),
        vector("tx-edge-past", VOICE, form, ts, good, now=ts + 300, note="300 s old: still fresh"),
        vector("tx-edge-future", VOICE, form, ts, good, now=ts - 300, note="300 s ahead: still fresh"),
        vector("tx-stale", VOICE, form, ts, good, now=ts + 301, note="301 s old"),
        vector("tx-future", VOICE, form, ts, good, now=ts - 301, note="301 s ahead"),
        vector("tx-tampered-body", VOICE.replace("Passed", "passed").replace("%2B1415", "%2B1416"), form, ts, good,
               note="the signed body with From changed"),
        vector("tx-other-timestamp", VOICE, form, ts + 1, good, now=ts, note="signature of another timestamp"),
        vector("tx-wrong-key", VOICE, form, ts, sign(OTHER, ts, VOICE), note="signed by another key"),
        vector("tx-missing-signature", VOICE, form, ts, None),
        vector("tx-missing-timestamp", VOICE, form, None, good),
        vector("tx-timestamp-not-a-number", VOICE, form, "17e8", good),
        vector("tx-signature-not-base64", VOICE, form, ts, "not*base64!"),
        vector("tx-signature-short", VOICE, form, ts, base64.b64encode(b"\x01" * 32).decode()),
        vector("tx-empty-body", "", js, ts, sign(KEY, ts, ""), note="an empty body signs as `timestamp|`"),
    ]


if __name__ == "__main__":
    json.dump(vectors(), sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
