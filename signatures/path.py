"""Certificate path validation (RFC 5280) by pyhanko-certvalidator, cached.

certvalidator builds and validates the path, checks CA signatures, basic and name
constraints, policies, validity at the moment, and revocation from the trust
store's CRLs. It is asynchronous and comparatively slow, so it runs only on a cache
miss, on a private event loop.

Why the cache is correct: for a given leaf, extra certificates, trust-store state
and policy, the result depends on the moment only through the validity bounds of
the certificates involved, the CRLs' thisUpdate/nextUpdate and the revocation
dates listed for them. Between two consecutive such instants nothing can change,
so the key holds the moment's position among those instants ("bucket"), not the
moment itself.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import threading
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator import errors as cv_errors
from pyhanko_certvalidator.path import ValidationPath
from pyhanko_certvalidator.policy_decl import CertRevTrustPolicy, RevocationCheckingPolicy, RevocationCheckingRule

from signatures.certinfo import CertInfo, cert_info
from signatures.crlindex import index_of, install_indexed_lookup
from signatures.policy import Policy, RevocationMode
from signatures.trust import TrustStore

__all__ = ["Purpose", "PathFailure", "PathOutcome", "validate_path", "clear_cache"]

_CACHE_LIMIT = 200_000


class Purpose(str, enum.Enum):
    SIGNING = "signing"
    TIMESTAMPING = "timestamping"


class PathFailure(str, enum.Enum):
    NO_CHAIN = "no_chain"
    CONSTRAINTS = "constraints"
    CHAIN_GENERAL = "chain_general"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    REVOKED = "revoked"
    REVOKED_CA = "revoked_ca"
    NO_REVOCATION_INFO = "no_revocation_info"
    """No usable CRL for the signer's own certificate."""
    NO_REVOCATION_INFO_CA = "no_revocation_info_ca"
    """The signer's certificate is covered, but an issuing CA's certificate is not."""
    UNREADABLE_CRL = "unreadable_crl"
    """A CRL the path needed is in the trust store but could not be loaded."""
    WEAK_ALGORITHM = "weak_algorithm"
    USAGE = "usage"


@dataclass(frozen=True)
class PathOutcome:
    """What certvalidator found for one leaf in one time bucket (moment-independent wording)."""

    failure: PathFailure | None
    message: str
    chain: tuple[str, ...] = ()
    """Subjects from the anchor down to the leaf, when a path was validated."""
    revocation_checked: bool = False
    revoked_later: datetime | None = None
    """Set when the leaf is listed as revoked, but only after the moment."""
    when: datetime | None = None
    """The instant the failure refers to (expiry, start of validity, revocation)."""
    files: tuple[str, ...] = ()
    """Trust-store files that could not be loaded and that this outcome may depend on."""


install_indexed_lookup()

_cache: OrderedDict[tuple[object, ...], PathOutcome] = OrderedDict()
_cache_lock = threading.Lock()
_context_inputs: dict[str, tuple[list[asn1_x509.Certificate], list[asn1_x509.Certificate], list[bytes]]] = {}


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
        _context_inputs.clear()
        _own_points_cache.clear()


def validate_path(
    leaf: CertInfo,
    extra_certs: Sequence[bytes],
    trust: TrustStore,
    moment: datetime,
    policy: Policy,
    purpose: Purpose = Purpose.SIGNING,
) -> PathOutcome:
    extras = tuple(sorted({der for der in extra_certs if der != leaf.der}))
    extras_id = _extras_id(extras)
    bucket = _bucket(leaf, extras, extras_id, trust, moment)
    key = (leaf.sha256, extras_id, trust.fingerprint, policy, purpose, bucket)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    outcome = _validate_uncached(leaf, extras, trust, moment, policy, purpose)
    with _cache_lock:
        _cache[key] = outcome
        if len(_cache) > _CACHE_LIMIT:
            _cache.popitem(last=False)
    return outcome


def _extras_id(extras: tuple[bytes, ...]) -> tuple[str, ...]:
    return tuple(cert_info(der).sha256 for der in extras if _parses(der))


def _parses(der: bytes) -> bool:
    try:
        cert_info(der)
        return True
    except ValueError:
        return False


def _bucket(
    leaf: CertInfo, extras: tuple[bytes, ...], extras_id: tuple[str, ...], trust: TrustStore, moment: datetime
) -> tuple[object, ...]:
    store_points = trust.time_breakpoints()
    own_points = _own_points(leaf, extras, extras_id, trust)
    # Equal instants get their own bucket: certvalidator's bounds are not all half-open the same way.
    return (
        bisect_left(store_points, moment),
        moment in store_points,
        tuple((moment > point) - (moment < point) for point in own_points),
    )


_own_points_cache: dict[tuple[str, tuple[str, ...], str], tuple[datetime, ...]] = {}


def _own_points(
    leaf: CertInfo, extras: tuple[bytes, ...], extras_id: tuple[str, ...], trust: TrustStore
) -> tuple[datetime, ...]:
    """Validity bounds and revocation dates of the leaf and extra certificates, in a fixed order.

    Memoised (bounded like the path cache) because they depend only on these certificates and the
    store, and reading them from ``cryptography`` objects cost about a tenth of a verification.
    """
    key = (leaf.sha256, extras_id, trust.fingerprint)  # extras_id names exactly the extras that parse
    points = _own_points_cache.get(key)
    if points is None:
        found: list[datetime] = []
        for info in [leaf, *(cert_info(der) for der in extras if _parses(der))]:
            found += (info.cert.not_valid_before_utc, info.cert.not_valid_after_utc)
            found += trust.revocation_dates(info.serial)
        points = tuple(found)
        with _cache_lock:
            if len(_own_points_cache) >= _CACHE_LIMIT:
                _own_points_cache.clear()
            _own_points_cache[key] = points
    return points


def _validate_uncached(
    leaf: CertInfo, extras: tuple[bytes, ...], trust: TrustStore, moment: datetime, policy: Policy, purpose: Purpose
) -> PathOutcome:
    anchors, intermediates, crls = _inputs(trust)
    others = intermediates + [cert_info(der).asn1() for der in extras if _parses(der)]
    rule = _revocation_rule(policy, trust)
    context = ValidationContext(
        trust_roots=anchors,
        other_certs=others,
        crls=crls,
        moment=moment,
        allow_fetching=False,
        # A CRL issued after the signing time still proves the status at that time.
        revinfo_policy=CertRevTrustPolicy(RevocationCheckingPolicy(rule, rule), retroactive_revinfo=True),
        weak_hash_algos=set(policy.weak_digests),
        time_tolerance=timedelta(0),
    )
    validator = CertificateValidator(leaf.asn1(), validation_context=context)
    checked = rule is not RevocationCheckingRule.NO_CHECK
    try:
        path = cast(ValidationPath, _run(_validate(validator, purpose)))
    except Exception as error:  # certvalidator raises many types; each becomes a plain outcome
        outcome = _outcome_of_error(error)
        if outcome.failure is PathFailure.NO_CHAIN and trust.problems:
            # A certificate file of the store that could not be loaded may be the missing link: say so.
            return dataclasses.replace(outcome, files=trust.problems)
        if outcome.failure is PathFailure.NO_REVOCATION_INFO:
            outcome = _missing_revocation(outcome, leaf, extras, trust, moment)
        if checked and outcome.failure in _REVOCATION_UNKNOWN:
            return _unreadable_crl_outcome(outcome, trust, _issuer_names(leaf, extras, trust))
        return outcome
    chain = tuple(cert.subject.human_friendly for cert in path.iter_certs(include_root=True))
    later = [date for date in trust.revocation_dates(leaf.serial) if date >= moment]
    outcome = PathOutcome(None, "", chain, checked, min(later) if later else None)
    if checked:
        issuers = [cert.issuer.dump() for cert in path.iter_certs(include_root=False)]
        return _unreadable_crl_outcome(outcome, trust, issuers, loaded=False)
    return outcome


_REVOCATION_UNKNOWN = frozenset({PathFailure.NO_REVOCATION_INFO, PathFailure.NO_REVOCATION_INFO_CA})


def _missing_revocation(
    outcome: PathOutcome, leaf: CertInfo, extras: tuple[bytes, ...], trust: TrustStore, moment: datetime
) -> PathOutcome:
    """Which revocation data was missing, and whether the trust store knows the signer is revoked anyway.

    certvalidator checks from the anchor down and stops at the first certificate without a usable CRL,
    so a revoked signer under a CA whose own CRL is missing came out as "no revocation data". A known
    revocation must never be hidden behind a missing CRL: the signer's issuer's CRL is read directly.
    """
    issuers = _issuers_of(leaf, extras, trust)
    revoked = trust.revoked_by_issuer(leaf.cert, leaf.serial, issuers)
    if revoked is not None and revoked <= moment:
        return PathOutcome(
            PathFailure.REVOKED, f"the signer's certificate is listed as revoked ({outcome.message})", when=revoked
        )
    if trust.has_crl_from(leaf.cert, issuers, moment):
        return PathOutcome(
            PathFailure.NO_REVOCATION_INFO_CA,
            outcome.message,
            revoked_later=revoked if revoked is not None and revoked > moment else None,
        )
    return outcome


def _issuers_of(leaf: CertInfo, extras: tuple[bytes, ...], trust: TrustStore) -> tuple[x509.Certificate, ...]:
    """Certificates that issued ``leaf`` (by name and signature), from the store and the signature."""
    candidates = [*trust.anchors, *trust.intermediates, *(cert_info(der).cert for der in extras if _parses(der))]
    found = []
    for candidate in candidates:
        if candidate.subject != leaf.cert.issuer:
            continue
        try:
            leaf.cert.verify_directly_issued_by(candidate)
        except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
            continue
        found.append(candidate)
    return tuple(found)


def _issuer_names(leaf: CertInfo, extras: tuple[bytes, ...], trust: TrustStore) -> list[bytes]:
    """DER issuer names from the leaf up through the store, by name (no path was validated)."""
    by_subject = {cert.subject: cert for cert in (*trust.anchors, *trust.intermediates)}
    names, issuer, seen = [], leaf.cert.issuer, set()
    while issuer not in seen:
        seen.add(issuer)
        names.append(issuer.public_bytes())
        parent = by_subject.get(issuer)
        if parent is None or parent.issuer == parent.subject:
            break
        issuer = parent.issuer
    return names


def _unreadable_crl_outcome(
    outcome: PathOutcome, trust: TrustStore, issuers: list[bytes], *, loaded: bool = True
) -> PathOutcome:
    """A CRL the path needed could not be loaded: revocation is unknown, and the verdict names the file.

    ``loaded``: count also CRLs that were offered to certvalidator (only when it found no usable one).
    """
    unreadable = trust.unreadable_crls_for(issuers, loaded=loaded)
    if not unreadable:
        return outcome
    files = tuple(f"{failure.file} ({failure.why})" for failure in unreadable)
    return PathOutcome(PathFailure.UNREADABLE_CRL, "; ".join(files), outcome.chain, True, files=files)


async def _validate(validator: CertificateValidator, purpose: Purpose) -> object:
    if purpose is Purpose.TIMESTAMPING:
        return await validator.async_validate_usage(set(), {"time_stamping"})  # type: ignore[no-untyped-call]
    return await validator.async_validate_path()


def _run(coroutine: object) -> object:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)  # type: ignore[arg-type]
    # Called from inside someone's event loop: run ours on a helper thread instead.
    box: list[object] = []

    def worker() -> None:
        try:
            box.append(asyncio.run(coroutine))  # type: ignore[arg-type]
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
            box.append(error)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0]


def _inputs(trust: TrustStore) -> tuple[list[asn1_x509.Certificate], list[asn1_x509.Certificate], list[bytes]]:
    cached = _context_inputs.get(trust.fingerprint)
    if cached is None:
        der = Encoding.DER
        # Indexed once per CRL here, so certvalidator's lookups (patched in crlindex) never walk a list.
        for crl, crl_der in zip(trust.crls, trust.crl_der):
            index_of(crl_der, crl.signature)
        cached = (
            [cert_info(cert.public_bytes(der)).asn1() for cert in trust.anchors],
            [cert_info(cert.public_bytes(der)).asn1() for cert in trust.intermediates],
            list(trust.crl_der),
        )
        _context_inputs[trust.fingerprint] = cached
    return cached


def _revocation_rule(policy: Policy, trust: TrustStore) -> RevocationCheckingRule:
    # A CRL file that could not be loaded still means the store meant to check revocation.
    no_crls = not trust.crls and not trust.unreadable_crls
    if policy.revocation is RevocationMode.SKIP or (policy.revocation is RevocationMode.AUTO and no_crls):
        return RevocationCheckingRule.NO_CHECK
    return RevocationCheckingRule.CRL_REQUIRED


def _outcome_of_error(error: Exception) -> PathOutcome:
    message = str(error) or type(error).__name__
    if isinstance(error, cv_errors.RevokedError):
        # certvalidator names the position in its message ("intermediate certificate 1").
        is_leaf = "intermediate certificate" not in message
        failure = PathFailure.REVOKED if is_leaf else PathFailure.REVOKED_CA
        return PathOutcome(failure, message, when=error.revocation_dt)
    if isinstance(error, cv_errors.ExpiredError):
        return PathOutcome(PathFailure.EXPIRED, message, when=error.expired_dt)
    if isinstance(error, cv_errors.NotYetValidError):
        return PathOutcome(PathFailure.NOT_YET_VALID, message, when=error.valid_from)
    if isinstance(error, cv_errors.InsufficientRevinfoError):
        return PathOutcome(PathFailure.NO_REVOCATION_INFO, message)
    if isinstance(error, cv_errors.DisallowedAlgorithmError):
        return PathOutcome(PathFailure.WEAK_ALGORITHM, message)
    if isinstance(error, cv_errors.PathBuildingError):
        return PathOutcome(PathFailure.NO_CHAIN, message)
    if isinstance(error, cv_errors.InvalidCertificateError):
        # A self-signed signer certificate that is not itself a trust anchor has no chain.
        return PathOutcome(PathFailure.NO_CHAIN if "self-signed" in message else PathFailure.USAGE, message)
    if isinstance(error, cv_errors.PathValidationError) and "signature" not in message:
        return PathOutcome(PathFailure.CONSTRAINTS, message)
    return PathOutcome(PathFailure.CHAIN_GENERAL, message)
