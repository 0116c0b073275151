"""The engine's public entry points: bytes (or a file) and a trust store in, verdicts out.

Nothing here raises on bad input: anything unreadable becomes a FORMAT_FAILURE
verdict whose reason a clerk can act on.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import os
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

from signatures.assess import Settings, SignedContext, assess_signer
from signatures.cms import CmsFormatError, ContentDigests, read_signed
from signatures.cmsparts import read_signer_parts
from signatures.decide import Finding, failed, format_failure
from signatures.modification import Changes, analyse_changes, describe, permitted
from signatures.pdf import (
    DOCUMENT_TIMESTAMP,
    SHA1_SUBFILTER,
    PdfFormatError,
    PdfSignature,
    covered_bytes,
    read_signed_pdf,
    sha1_of,
)
from signatures.policy import DEFAULT_POLICY, Policy
from signatures.smime import SmimeFormatError, extract_smime, looks_like_smime
from signatures.trust import TrustStore
from signatures.verdict import Check, CheckName, CheckOutcome, SignerKind, SubIndication, Verdict

__all__ = ["verify_cms", "verify_pdf", "verify_file", "TrustLike"]

TrustLike = TrustStore | Path | str | None
_EMPTY_STORE = TrustStore.from_objects([])


def verify_cms(
    signature: bytes,
    content: bytes | None = None,
    *,
    trust: TrustLike,
    policy: Policy = DEFAULT_POLICY,
    kinds: Mapping[str, SignerKind] | None = None,
    now: datetime | None = None,
) -> list[Verdict]:
    """One verdict per SignerInfo of a CMS/PKCS#7 signature (DER, BER, PEM or base64).

    ``content`` is the signed document for a detached signature. An attached one is verified over
    the content it carries, which must then equal ``content`` when both are there (else the pair is
    refused as FORMAT_FAILURE): a carried copy never stands in for the document given.
    """
    settings = Settings(_trust_store(trust), policy, dict(kinds or {}), now)
    return _guarded(lambda: _verify_cms(signature, content, settings))


def verify_pdf(
    data: bytes,
    *,
    trust: TrustLike,
    policy: Policy = DEFAULT_POLICY,
    kinds: Mapping[str, SignerKind] | None = None,
    now: datetime | None = None,
) -> list[Verdict]:
    """One verdict per signature in the PDF, in file order (index 0 = first signed)."""
    settings = Settings(_trust_store(trust), policy, dict(kinds or {}), now)
    return _guarded(lambda: _verify_pdf(data, settings))


def verify_file(
    path: Path | str,
    content_path: Path | str | None = None,
    *,
    trust: TrustLike,
    policy: Policy = DEFAULT_POLICY,
    kinds: Mapping[str, SignerKind] | None = None,
    now: datetime | None = None,
) -> list[Verdict]:
    """Verify a PDF, an S/MIME .eml, or a .p7s/.p7m (a .p7s is paired with the file named without .p7s)."""
    path = path if isinstance(path, Path) else Path(path)  # Path(a Path) still costs a few µs
    options = dict(trust=_trust_store(trust), policy=policy, kinds=kinds, now=now)
    try:
        data = _read_limited(path, policy)
        if data.lstrip()[:5] == b"%PDF-" or path.suffix.lower() == ".pdf":
            return verify_pdf(data, **options)  # type: ignore[arg-type]
        if path.suffix.lower() == ".eml" or looks_like_smime(data):
            signature, content = extract_smime(data)
            return verify_cms(signature, content, **options)  # type: ignore[arg-type]
        if isinstance(content_path, str):
            content_path = Path(content_path) if content_path else None
        content_file = content_path or _paired_content(path)
        content = _read_limited(content_file, policy) if content_file else None
    except (OSError, SmimeFormatError, ValueError) as error:
        return [format_failure(0, f"The file could not be read as a signature: {_plain(error)}.")]
    return verify_cms(data, content, **options)  # type: ignore[arg-type]


def _paired_content(path: Path) -> Path | None:
    if path.suffix.lower() != ".p7s":
        return None
    partner = path.with_suffix("")
    return partner if partner.is_file() else None


def _read_limited(path: Path, policy: Policy) -> bytes:
    """The file's bytes, refused past the policy's limit (also when it grows while read, or is a pipe).

    One ``os.read`` of the size ``fstat`` gives, then one that finds the end: pathlib's ``stat`` and
    ``read_bytes`` cost about 6 µs more per file, a few per cent of verifying a 100 KB document.
    """
    limit = policy.max_input_bytes
    descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        size = os.fstat(descriptor).st_size
        if size > limit:
            raise ValueError(f"{path.name} is larger than the {limit}-byte limit")
        parts: list[bytes] = []
        total = 0
        while chunk := os.read(descriptor, size + 1 if not parts else _READ_MORE):
            parts.append(chunk)
            total += len(chunk)
            if total > limit:
                raise ValueError(f"{path.name} is larger than the {limit}-byte limit")
    finally:
        os.close(descriptor)
    return parts[0] if len(parts) == 1 else b"".join(parts)


_READ_MORE = 1 << 16
"""Read size once the size ``fstat`` gave is exceeded (a pipe, or a file still being written)."""


def _trust_store(trust: TrustLike) -> TrustStore:
    if isinstance(trust, TrustStore):
        return trust
    if trust is None:
        return _EMPTY_STORE
    return TrustStore.load(Path(trust))


def _plain(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def _assess_one(index: int, signer_info: bytes, shared: SignedContext, settings: Settings) -> list[Verdict]:
    return [assess_signer(index, read_signer_parts(signer_info), shared, settings)]


def _guarded(work: Callable[[], list[Verdict]]) -> list[Verdict]:
    """Whatever goes wrong becomes a verdict whose reason is plain words; the library's text goes to the checks."""
    try:
        return work()
    except CmsFormatError as error:
        return [format_failure(0, f"This is not a readable signature: {error}.", error.detail or str(error))]
    except PdfFormatError as error:
        reason = getattr(error, "reason", None) or _pdf_reason(error)
        return [format_failure(0, reason, getattr(error, "detail", None) or _technical(error))]
    except (Exception, RecursionError, MemoryError) as error:  # hostile input must not escape as an exception
        return [
            format_failure(
                0,
                "The signature is malformed and could not be read; ask the sender for the file again.",
                _technical(error),
            )
        ]


def _pdf_reason(error: PdfFormatError) -> str:
    # The PDF reader's own message names its internals (NotImplementedError, FileNotDecryptedError...):
    # the clerk is told what it means instead.
    causes = {type(cause).__name__ for cause in (error, error.__cause__, error.__context__) if cause is not None}
    if causes & {"FileNotDecryptedError", "WrongPasswordError", "DependencyError"} or "encrypt" in str(error).lower():
        return "The PDF is encrypted and cannot be checked; ask the sender for a copy that is not password-protected."
    return "The PDF is damaged or uses a structure docflow cannot read; ask the sender for the file again."


def _technical(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


class _Encapsulated(enum.Enum):
    """What a CMS's own copy of the content (eContent) may do beside the content given with it."""

    MUST_MATCH = "must_match"
    """Files: an attached signature stands alone, but given content must be what it carries."""
    FORBIDDEN = "forbidden"
    """PDF detached subfilters: the byte range is the signed content, so a carried copy is a forgery."""
    DIGEST = "digest"
    """adbe.pkcs7.sha1: the carried content is the SHA-1 of the byte range, compared by the caller."""


_CARRIED_IN_PDF = (
    "This PDF signature carries its own copy of some content instead of signing the PDF's bytes"
    " (a detached PDF signature must not); the PDF is not signed by it."
)


def _verify_cms(
    signature: bytes,
    content: bytes | None,
    settings: Settings,
    rule: _Encapsulated = _Encapsulated.MUST_MATCH,
    covered: bytes = b"",
) -> list[Verdict]:
    """``covered`` is the PDF's byte range, read only under the DIGEST rule."""
    if len(signature) > settings.policy.max_input_bytes:
        return [format_failure(0, "The signature file is larger than docflow accepts.")]
    signed = read_signed(signature)
    if signed.content is not None and rule is _Encapsulated.FORBIDDEN:
        return [format_failure(0, _CARRIED_IN_PDF, "detached signatures should not have encapsulated data")]
    if signed.content is not None and content is not None and signed.content != content:
        return [
            format_failure(
                0,
                "The signature carries its own copy of the document, and it differs from the file"
                " given with it; check that the right files were paired.",
            )
        ]
    # Never the carried copy in place of given content: with FORBIDDEN and MUST_MATCH they are now equal or one
    # is absent.
    document = content if content is not None else signed.content
    shared = SignedContext(
        content_type=signed.content_type,
        digests=ContentDigests(document) if document is not None else None,
        embedded=signed.certificates,
        content_findings=_sha1_findings(signed.content, covered) if rule is _Encapsulated.DIGEST else (),
    )
    verdicts = []
    for index, signer_info in enumerate(signed.signer_infos):
        verdict = _guarded(functools.partial(_assess_one, index, signer_info, shared, settings))[0]
        verdicts.append(verdict if verdict.index == index else dataclasses.replace(verdict, index=index))
    return verdicts


def _verify_pdf(data: bytes, settings: Settings) -> list[Verdict]:
    if len(data) > settings.policy.max_input_bytes:
        return [format_failure(0, "The PDF is larger than docflow accepts.")]
    try:
        pdf = read_signed_pdf(data)
    except PdfFormatError as error:
        return [format_failure(0, error.reason, error.detail)]
    signatures = [sig for sig in pdf.signatures if sig.subfilter != DOCUMENT_TIMESTAMP]
    verdicts = [_verify_pdf_signature(index, sig, data, settings) for index, sig in enumerate(signatures)]
    timestamps = [sig for sig in pdf.signatures if sig.subfilter == DOCUMENT_TIMESTAMP]
    changes = analyse_changes(data, pdf.reader, signatures, timestamps)
    return [
        _with_changes(verdict, signature, changes, last=index == len(signatures) - 1)
        for index, (verdict, signature) in enumerate(zip(verdicts, signatures))
    ]


def _with_changes(verdict: Verdict, signature: PdfSignature, changes: Changes, *, last: bool) -> Verdict:
    if signature.problem is not None:
        return verdict
    modification = changes.after[verdict.index]
    allowed = permitted(modification, last=last, docmdp=changes.docmdp)
    what = describe(modification)
    detail = f"changed after this signature: {what}" + ("" if allowed else " (not permitted)")
    check = Check(CheckName.MODIFICATION, CheckOutcome.PASSED if allowed else CheckOutcome.FAILED, detail)
    reason = (
        verdict.reason
        if allowed
        else (
            f"{verdict.reason.rstrip('.')}. After this signature the PDF was changed ({what}) beyond what its"
            " signatures allow: what it shows now is not what was signed; ask the sender for the signed original."
        )
    )
    return dataclasses.replace(verdict, modification=modification, checks=verdict.checks + (check,), reason=reason)


def _verify_pdf_signature(index: int, signature: PdfSignature, data: bytes, settings: Settings) -> Verdict:
    if signature.problem is not None:
        return format_failure(
            index,
            f"The PDF signature '{signature.field_name}' is unusable: {signature.problem}.",
            signature.problem,
            check=CheckName.BYTE_RANGE,
        )
    covered = covered_bytes(signature, data)
    sha1_mode = signature.subfilter == SHA1_SUBFILTER
    # Every subfilter but adbe.pkcs7.sha1 signs the byte range itself; unknown ones are held to that too.
    rule, content = (_Encapsulated.DIGEST, None) if sha1_mode else (_Encapsulated.FORBIDDEN, covered)
    verdict = _guarded(lambda: _verify_cms(signature.contents, content, settings, rule, covered))[0]
    whole = signature.covers_whole_file(data)
    end = signature.signed_bytes() or 0
    detail = "covers the whole file" if whole else f"{len(data) - end} bytes were added after this signature"
    byte_range = Check(CheckName.BYTE_RANGE, CheckOutcome.PASSED, detail)
    return dataclasses.replace(
        verdict, index=index, checks=verdict.checks + (byte_range,), covers_whole_file=whole, signed_bytes=end
    )


def _sha1_findings(carried: bytes | None, covered: bytes) -> tuple[Finding, ...]:
    # adbe.pkcs7.sha1 signs the SHA-1 of the byte range, carried as the encapsulated content.
    if carried == sha1_of(covered):
        return ()
    return (
        failed(
            CheckName.MESSAGE_DIGEST,
            SubIndication.HASH_FAILURE,
            "The PDF was changed after it was signed (its SHA-1 no longer matches the signature).",
        ),
    )
