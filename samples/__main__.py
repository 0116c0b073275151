"""``python -m samples --out DIR``: a trust store and signed sample documents to verify.

DIR/trust/ holds the sample government-like PKI (certificates and CRLs only);
DIR/documents/ holds one document per situation a supervisor meets.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

from samples.pdfgen import append_after_signature, make_pdf, sign_pdf
from samples.pki import SamplePKI, build_pki, issue_organisation, issue_person, revoke, write_trust_dir
from samples.sign import sign_cms

__all__ = ["write_samples"]

AGENCY = "Sở Tài chính tỉnh Bắc Kạn"


def _documents(pki: SamplePKI, now: datetime) -> dict[str, bytes]:
    person = issue_person(pki, "Nguyễn Văn An", agency=AGENCY, department="Ban Giám đốc")
    organisation = issue_organisation(pki, AGENCY)
    revoked_person = issue_person(pki, "Lê Thị Thu", agency=AGENCY)
    revoke(pki, revoked_person, now - timedelta(days=30))
    expired_person = issue_person(
        pki,
        "Phạm Văn Cường",
        agency=AGENCY,
        not_before=now - timedelta(days=4 * 365),
        not_after=now - timedelta(days=365),
    )
    outsider = issue_person(pki, "Hoàng Văn Dũng", agency="Công ty ABC", issuer=pki.untrusted_intermediate)
    signed_at = now - timedelta(days=2)

    def nd30(title: str) -> bytes:
        pdf = make_pdf(title, ["UBND TINH BAC KAN", "SO TAI CHINH", "Trich yeu: van ban mau"])
        pdf = sign_pdf(pdf, person, signing_time=signed_at)
        return sign_pdf(
            pdf,
            organisation,
            signing_time=signed_at + timedelta(minutes=5),
            timestamp_by=pki.tsa,
            timestamp_time=signed_at + timedelta(minutes=5),
        )

    valid = nd30("Quyet dinh so 12/QD-STC")
    content = make_pdf("Cong van so 345/STC-NS", ["Ve viec du toan ngan sach"])
    return {
        "01-quyet-dinh-hop-le.pdf": valid,
        "02-bi-sua-noi-dung.pdf": valid.replace(b"12/QD-STC", b"13/QD-STC", 1),  # a number changed
        "03-them-trang-sau-khi-ky.pdf": append_after_signature(valid),
        "04-chung-thu-bi-thu-hoi.pdf": sign_pdf(make_pdf("Cong van 77/STC"), revoked_person, signing_time=signed_at),
        "05-chung-thu-het-han.pdf": sign_pdf(make_pdf("Cong van 78/STC"), expired_person, signing_time=signed_at),
        "06-ca-khong-tin-cay.pdf": sign_pdf(
            make_pdf("Cong van 79/STC"), outsider, signing_time=signed_at, extra_certs=[pki.untrusted_intermediate.cert]
        ),
        "07-cong-van.pdf": content,
        "07-cong-van.pdf.p7s": sign_cms(content, organisation, signing_time=signed_at),
        "08-to-trinh.p7m": sign_cms(b"To trinh so 5/TTr-STC", person, detached=False, signing_time=signed_at),
        "09-thuat-toan-yeu-sha1.pdf": sign_pdf(
            make_pdf("Cong van 80/STC"), person, digest="sha1", signing_time=signed_at
        ),
    }


def write_samples(out: Path, now: datetime | None = None) -> list[Path]:
    """Write DIR/trust and DIR/documents; returns the document paths."""
    now = now or datetime.now(UTC)
    pki = build_pki(now=now)
    documents = _documents(pki, now)
    write_trust_dir(pki, out / "trust")  # after _documents, so the CRL lists the revocation
    folder = out / "documents"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in documents.items():
        (folder / name).write_bytes(data)
        written.append(folder / name)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m samples", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("sample-data"), help="folder to write (default: sample-data)")
    args = parser.parse_args()
    for path in write_samples(args.out):
        print(path)
    print(f"trust store: {args.out / 'trust'}")


if __name__ == "__main__":
    main()
