"""Whether a signature's algorithm identifiers agree with each other and with the signer's key.

A signature names its algorithm twice (the digest algorithm, and a signature algorithm that may name a hash too)
and is made with a key of one family. A verifier that checks the value by the key's type alone, or with one of
two hashes named, passes signatures whose identifiers contradict each other or name nothing docflow knows.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from signatures.cmsparts import AlgorithmNames
from signatures.decide import Finding, failed
from signatures.keytypes import DSAPublicKey
from signatures.verdict import CheckName, SubIndication

__all__ = ["algorithm_refusal", "eddsa_digest_problem", "EDDSA_DIGEST"]

EDDSA_DIGEST = {"ed25519": "sha512", "ed448": "shake256"}
"""RFC 8419: the digest each EdDSA curve must be used with."""


def eddsa_digest_problem(signature_algorithm: str | None, digest_algorithm: str | None) -> str | None:
    """RFC 8419 fixes the digest for each EdDSA curve; anything else is refused."""
    required = EDDSA_DIGEST.get(signature_algorithm or "")
    if required is None or (digest_algorithm or "").startswith(required):
        return None
    return f"{signature_algorithm} signatures must use {required}, not {digest_algorithm}"


def algorithm_refusal(names: AlgorithmNames, key: object) -> Finding | None:
    """The signature-value finding that refuses these identifiers with this key; None when they agree."""
    if names.signature not in _KEY_FAMILIES:
        # Checking the value by the key's type alone would pass a signature whose algorithm no one can name.
        return failed(
            CheckName.SIGNATURE_VALUE,
            SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
            f"The signature names an algorithm docflow does not know ({names.signature}), so its value cannot be "
            "checked; ask the sender to re-sign with RSA or ECDSA and SHA-256.",
            f"the signature algorithm {names.signature} is not one docflow knows",
        )
    mismatch = _algorithm_mismatch(names, key)
    if mismatch is None:
        return None
    return failed(
        CheckName.SIGNATURE_VALUE,
        SubIndication.SIG_CRYPTO_FAILURE,
        f"The signature is refused because {mismatch}; the signing tool wrote a contradictory signature. "
        "Ask the sender to re-sign.",
        mismatch,
    )


_KEY_FAMILIES: dict[str, tuple[str, type]] = {
    "rsassa_pkcs1v15": ("RSA", rsa.RSAPublicKey),
    "rsassa_pss": ("RSA-PSS", rsa.RSAPublicKey),
    "ecdsa": ("ECDSA", ec.EllipticCurvePublicKey),
    "dsa": ("DSA", DSAPublicKey),
    "ed25519": ("Ed25519", ed25519.Ed25519PublicKey),
    "ed448": ("Ed448", ed448.Ed448PublicKey),
}
_KEY_NAMES = {
    rsa.RSAPublicKey: "RSA",
    ec.EllipticCurvePublicKey: "EC",
    DSAPublicKey: "DSA",
    ed25519.Ed25519PublicKey: "Ed25519",
    ed448.Ed448PublicKey: "Ed448",
}


def _algorithm_mismatch(names: AlgorithmNames, key: object) -> str | None:
    """Why the signature algorithm contradicts the key or the digest algorithm; None when they agree."""
    family = _KEY_FAMILIES.get(names.signature)
    if family is not None and key is not None and not isinstance(key, family[1]):
        have = next((label for kind, label in _KEY_NAMES.items() if isinstance(key, kind)), type(key).__name__)
        return f"it names the {family[0]} algorithm but the signer's key is {have}"
    # EdDSA identifiers name their hash too, but RFC 8419's digest rule for them is a policy check (assess).
    combined = names.signature_hash is not None and names.pss is None and names.signature not in EDDSA_DIGEST
    if combined and names.signature_hash is not None and names.signature_hash != names.digest:
        return (
            f"its signature algorithm names {names.signature_hash.upper()} while its digest algorithm is "
            f"{(names.digest or 'unknown').upper()}"
        )
    return None
