"""Schemathesis hooks for Salur: device routes are signed the way a phone signs them.

The server refuses any device request without a valid ES256 signature over
`SALUR-REQUEST-V1\\n{METHOD}\\n{path?query}\\n{time_ms}\\n{hex sha256(body)}` (see
rust-core/src/request_auth.rs), so without these hooks schemathesis would only ever reach the
signature check. The key and device id come from `salur_setup.py`, which registers and approves
a software-key device on the server under test.
"""

import hashlib
import os
import time
from base64 import b64encode

import requests
import schemathesis
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

# Order of the P-256 group: the server accepts only low-S signatures (one signature per request).
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def load_key(path):
    """The device's private key, PEM."""
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def signature_headers(key, device_id, method, path_and_query, body):
    """The three headers of a signed device request."""
    now = int(time.time() * 1000)
    digest = hashlib.sha256(body).hexdigest()
    message = f"SALUR-REQUEST-V1\n{method.upper()}\n{path_and_query}\n{now}\n{digest}".encode()
    r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
    s = min(s, P256_N - s)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return {"x-salur-device": device_id, "x-salur-time": str(now), "x-salur-signature": b64encode(raw).decode()}


class DeviceSignature(requests.auth.AuthBase):
    """Signs the request as prepared (encoded path, query and body bytes), so the signature
    covers exactly what goes on the wire."""

    def __init__(self, key, device_id):
        self.key = key
        self.device_id = device_id

    def __call__(self, r):
        body = r.body or b""
        if isinstance(body, str):
            body = body.encode()
        r.headers.update(signature_headers(self.key, self.device_id, r.method, r.path_url, body))
        # A phone sends neither the run's staff token nor the session cookie schemathesis makes up.
        r.headers.pop("Authorization", None)
        r.headers.pop("Cookie", None)
        return r


_SIGNER = None
if os.environ.get("SALUR_ST_KEY"):
    _SIGNER = DeviceSignature(load_key(os.environ["SALUR_ST_KEY"]), os.environ["SALUR_ST_DEVICE"])


def _device_signed(case):
    security = case.operation.definition.raw.get("security") or []
    return any("deviceSignature" in requirement for requirement in security)


def _negative_headers(case):
    """A case whose headers were made invalid on purpose keeps them: signing would repair them."""
    meta = case.meta
    if meta is None:
        return False
    return any(
        loc.name.lower() == "header" and info.mode.value == "negative" for loc, info in meta.components.items()
    )


@schemathesis.hook
def before_call(context, case, kwargs):
    """Device routes get the device's signature unless the case tests bad headers."""
    if _SIGNER is None:
        return
    # Stateful runs follow links from the device list to approve/revoke: revoking the run's own
    # device would leave every device route answering 403 for the rest of the run.
    params = case.path_parameters or {}
    if case.path == "/v1/admin/devices/{id}/{action}" and params.get("id") == _SIGNER.device_id:
        params["id"] = "st-other-device"
    if _device_signed(case) and not _negative_headers(case):
        kwargs["auth"] = _SIGNER
