"""Keyed masking of personal data: HMAC-SHA256 with one secret key per domain.

A product may carry a personal-data column only masked (DESIGN: no personal data leaves its domain
unmasked). The same value masks to the same digest within a domain, so masked columns still join
and count, but nobody without the domain's key can link a digest to a person or guess it from a
list of candidates, which a plain hash would allow.

The key is ``$MESH_PII_KEY_<DOMAIN>`` (production: a secret of the deployment). On the embedded
default a random key is created once under ``<data>/secrets/<domain>.key`` (readable by the owner
only). Rotating a key changes every digest of the domain: a breaking change for its consumers.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from mesh_orchestrator.core.errors import MaskingKeyError
from mesh_orchestrator.core.paths import data_dir

KEY_ENV_PREFIX = "MESH_PII_KEY_"
_BLOCK = 64  # SHA-256 block size in bytes
_MIN_KEY_BYTES = 16


def key_env(domain: str) -> str:
    return f"{KEY_ENV_PREFIX}{domain.upper()}"


def domain_key(domain: str) -> bytes:
    """The domain's masking key: from the environment, else the embedded default's key file."""
    raw = os.environ.get(key_env(domain))
    if raw is not None:
        key = raw.encode("utf-8")
        if len(key) < _MIN_KEY_BYTES:
            raise MaskingKeyError(
                f"{key_env(domain)} is {len(key)} bytes; use at least {_MIN_KEY_BYTES} random bytes, "
                "e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`"
            )
        return key
    path = data_dir() / "secrets" / f"{domain}.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return path.read_text(encoding="utf-8").strip().encode("utf-8")


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC's inner and outer padded keys (RFC 2104), so SQL can compute HMAC with ``sha256``."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def mask(value: str, key: bytes) -> str:
    """The masked form of ``value``: hex HMAC-SHA256 (what the SQL macro computes)."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
