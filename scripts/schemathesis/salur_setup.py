"""Prepares a running `salur serve` for schemathesis: issues an enrolment code with the staff
token, registers a software-key device with it (the server runs with
--allow-unattested-devices) and approves it, then writes the device's key for the hooks.

Usage: salur_setup.py BASE_URL STAFF_TOKEN KEY_FILE DEVICE_ID
"""

import json
import sys
import time
from base64 import b64encode

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from salur_hooks import signature_headers


def main(base, token, key_file, device_id):
    staff = {"Authorization": f"Bearer {token}"}
    deadline = time.time() + 60
    while True:
        try:
            if requests.get(f"{base}/healthz", timeout=2).ok:
                break
        except requests.ConnectionError:
            pass
        if time.time() > deadline:
            sys.exit(f"{base} did not answer /healthz within 60 s")
        time.sleep(0.2)
    worker, office = "st-worker", "st-office"
    issued = requests.post(
        f"{base}/v1/admin/enrolments", json={"worker_id": worker, "post_office": office, "allow_unknown": True}, headers=staff, timeout=10
    )
    issued.raise_for_status()
    key = ec.generate_private_key(ec.SECP256R1())
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    body = json.dumps(
        {
            "device_id": device_id,
            "worker_id": worker,
            "post_office": office,
            "public_key": b64encode(spki).decode(),
            "enrolment_code": issued.json()["code"],
        }
    ).encode()
    headers = {"Content-Type": "application/json", **signature_headers(key, device_id, "POST", "/v1/devices", body)}
    registered = requests.post(f"{base}/v1/devices", data=body, headers=headers, timeout=10)
    if registered.status_code != 201:
        sys.exit(f"registering the test device failed: {registered.status_code} {registered.text}")
    approved = requests.post(f"{base}/v1/admin/devices/{device_id}/approve", headers=staff, timeout=10)
    approved.raise_for_status()
    with open(key_file, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )


if __name__ == "__main__":
    main(*sys.argv[1:5])
