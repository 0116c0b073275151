"""Person or organisation? The NĐ 30/2020 heuristics of docs/domain.md §4, with a manual override.

Organisation certificates carry the agency's name in CN (or a tax code, MST, in UID);
personal ones carry a person's name in CN with the agency in O/OU, or a citizen ID
(CMND/CCCD) in UID. Where the heuristics guess wrong a province supplies a mapping
from certificate SHA-256 to kind.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache

from signatures.certinfo import CertInfo
from signatures.verdict import SignerKind

__all__ = ["classify_signer", "ORGANISATION_WORDS"]

ORGANISATION_WORDS = (
    "sở",
    "ubnd",
    "ủy ban",
    "uỷ ban",
    "cục",
    "bộ",
    "văn phòng",
    "trường",
    "ban",
    "công ty",
    "tổng cục",
    "chi cục",
    "phòng",
    "trung tâm",
    "viện",
    "bệnh viện",
    "hội đồng",
    "đảng ủy",
    "huyện ủy",
    "tỉnh ủy",
    "tập đoàn",
    "ngân hàng",
    "kho bạc",
    "thuế",
    "tòa án",
    "viện kiểm sát",
    "công an",
    "bảo hiểm",
    "hđnd",
    "cơ quan",
    "tỉnh",
    "thành phố",
    "xã",
    "phường",
    "huyện",
    "quận",
    "ministry",
    "department",
    "company",
    "authority",
    "ltd",
    "inc",
    "corporation",
    "university",
)
_WORD_PATTERN = re.compile(r"(?<!\w)(" + "|".join(re.escape(w) for w in ORGANISATION_WORDS) + r")(?!\w)")
_PERSON_UID = re.compile(r"^\s*(cmnd|cccd|hc|hộ chiếu|passport)\s*:", re.IGNORECASE)
_ORG_UID = re.compile(r"^\s*(mst|mns|ngân sách)\s*:", re.IGNORECASE)


def classify_signer(signer: CertInfo, overrides: Mapping[str, SignerKind] | None = None) -> SignerKind:
    if overrides and signer.sha256 in overrides:
        return overrides[signer.sha256]
    return _heuristic_kind(signer.uid, signer.common_name, signer.organisation, signer.org_unit)


@lru_cache(maxsize=4096)
def _heuristic_kind(
    uid: str | None, common_name: str | None, organisation: str | None, org_unit: str | None
) -> SignerKind:
    # Cached on exactly the fields it reads: one province's signers recur in every batch.
    uid = uid or ""
    if _ORG_UID.match(uid):
        return SignerKind.ORGANISATION
    if _PERSON_UID.match(uid):
        return SignerKind.PERSON
    common_name = _normalise(common_name or "")
    if not common_name:
        return SignerKind.UNKNOWN
    if _WORD_PATTERN.search(common_name):
        return SignerKind.ORGANISATION
    if _looks_like_person_name(common_name) and (organisation or org_unit):
        return SignerKind.PERSON
    return SignerKind.UNKNOWN


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold().strip()


def _looks_like_person_name(common_name: str) -> bool:
    # Vietnamese names: two to six alphabetic words (family, middle, given), no digits.
    words = common_name.split()
    return 2 <= len(words) <= 6 and all(word.isalpha() for word in words)
