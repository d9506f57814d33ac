"""A throwaway RSA key for DKIM tests, made by the openssl command line, and its TXT record."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path


def make_key_pair(folder: Path) -> tuple[Path, bytes]:
    """(private key PEM file, the DNS TXT record that publishes its public half)."""
    private = folder / "dkim.pem"
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
         "-out", str(private)],
        check=True, capture_output=True,
    )  # fmt: skip
    public = subprocess.run(
        ["openssl", "pkey", "-in", str(private), "-pubout", "-outform", "DER"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    return private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
