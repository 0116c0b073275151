"""What docflow accepts: digest and key-size limits, key usage, revocation mode, input size.

The defaults follow the government policy (SHA-256 or better, RSA-2048 or larger);
tests over old public suites (PKITS dates from the SHA-1/RSA-1024 era) relax them
explicitly rather than the engine relaxing itself.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from signatures.certinfo import quiet_cryptography

__all__ = ["RevocationMode", "Policy", "DEFAULT_POLICY", "weak_digest_problem", "key_size_problem", "key_usage_problem"]


class RevocationMode(str, enum.Enum):
    AUTO = "auto"
    """Require a CRL for every certificate when the trust store holds any CRL; otherwise skip."""
    REQUIRE = "require"
    SKIP = "skip"


@dataclass(frozen=True)
class Policy:
    weak_digests: frozenset[str] = field(default_factory=lambda: frozenset({"md2", "md5", "sha1"}))
    min_rsa_bits: int = 2048
    revocation: RevocationMode = RevocationMode.AUTO
    max_input_bytes: int = 256 * 1024 * 1024
    """Inputs larger than this are refused before parsing (hostile lengths)."""


DEFAULT_POLICY = Policy()


def weak_digest_problem(digest_name: str | None, policy: Policy) -> str | None:
    if digest_name and digest_name.lower() in policy.weak_digests:
        return f"the {digest_name.upper()} digest is no longer accepted"
    return None


def key_size_problem(public_key: object, policy: Policy) -> str | None:
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size < policy.min_rsa_bits:
        return f"the signer's RSA key has {public_key.key_size} bits, fewer than the {policy.min_rsa_bits} required"
    return None


def key_usage_problem(cert: x509.Certificate) -> str | None:
    """None when the certificate may sign documents (no KeyUsage, or digitalSignature/nonRepudiation)."""
    try:
        with quiet_cryptography():  # reading extensions warns about non-DER policy texts elsewhere in them
            usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None
    except (ValueError, TypeError) as error:
        return f"the key usage extension is unreadable ({error})"
    if usage.digital_signature or usage.content_commitment:
        return None
    return "the certificate's key usage allows neither digital signature nor non-repudiation"
