"""Writing edXML packages and status packages (QCVN 102:2016), for tests and sample data.

Each namespace variant docflow accepts can be produced, and the element order of the
``MessageHeader`` can be shuffled, since real senders do not keep the schema's order.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from xml.sax.saxutils import escape

__all__ = ["Attachment", "VARIANTS", "build_edxml", "build_status", "QCVN_NS", "EDOC_NS", "GOVN_NS"]

QCVN_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
EDOC_NS = "http://www.e-doc.vn/Schema/"
GOVN_NS = "http://www.go.vn/eDoc"
VARIANTS = ("qcvn", "qcvn-default", "edoc", "govn")
"""``qcvn``: the VPCP sample's form (default namespace on the root, ``edXML:`` prefix inside);
``qcvn-default``: no prefix at all; ``edoc``: the older e-doc.vn namespace; ``govn``: the flat go.vn form."""

_Node = tuple[str, "str | Sequence[_Node]"]


@dataclass(frozen=True)
class Attachment:
    name: str
    data: bytes
    content_type: str = "application/pdf"


def _organ(tag: str, code: str, name: str) -> _Node:
    return (tag, [("OrganId", code), ("OrganName", name)])


def _render(node: _Node, prefix: str) -> str:
    tag, body = node
    inner = escape(body) if isinstance(body, str) else "".join(_render(child, prefix) for child in body)
    return f"<{prefix}{tag}>{inner}</{prefix}{tag}>"


def _wrap(variant: str, header: Sequence[_Node], body: Sequence[_Node], attachments: Sequence[Attachment]) -> bytes:
    if variant not in VARIANTS:
        raise ValueError(f"unknown edXML variant {variant!r}; expected one of {VARIANTS}")
    if variant == "govn":
        manifest = (
            "Manifest",
            [
                (
                    "Attachment",
                    [
                        ("AttachmentName", a.name),
                        ("ContentType", a.content_type),
                        ("Content", base64.b64encode(a.data).decode()),
                    ],
                )
                for a in attachments
            ],
        )
        inner = "".join(_render(node, "") for node in [*header, *body, manifest])
        return (
            f'<?xml version="1.0" encoding="UTF-8"?><EdXMLEnvelope xmlns="{GOVN_NS}">{inner}</EdXMLEnvelope>'.encode()
        )
    namespace = EDOC_NS if variant == "edoc" else QCVN_NS
    prefix = "" if variant == "qcvn-default" else "edXML:"
    declare = "" if variant == "qcvn-default" else f' xmlns:edXML="{namespace}"'
    envelope = "".join(
        [
            f"<{prefix}edXMLEnvelope{declare}><{prefix}edXMLHeader>",
            "".join(_render(node, prefix) for node in header),
            f"</{prefix}edXMLHeader><{prefix}edXMLBody>",
            "".join(_render(node, prefix) for node in body),
            f"</{prefix}edXMLBody></{prefix}edXMLEnvelope>",
        ]
    )
    encoded = "".join(
        f"<Attachment><ContentId>cid:{n}</ContentId><AttachmentName>{escape(a.name)}</AttachmentName>"
        f"<ContentType>{a.content_type}</ContentType><{prefix}ContentTransferEncoded{declare}>"
        f"{base64.b64encode(a.data).decode()}</{prefix}ContentTransferEncoded></Attachment>"
        for n, a in enumerate(attachments, start=1)
    )
    tail = f"<AttachmentEncoded>{encoded}</AttachmentEncoded>" if attachments else ""
    return f'<?xml version="1.0" encoding="UTF-8"?><edXML xmlns="{namespace}">{envelope}{tail}</edXML>'.encode()


def build_edxml(
    *,
    sender: str,
    recipients: Sequence[tuple[str, str]],
    number: str,
    notation: str,
    promulgation: date,
    sender_name: str = "Đơn vị gửi",
    type_name: str = "Công văn",
    subject: str = "Về việc thử nghiệm",
    due: date | None = None,
    business: int = 0,
    paper: bool = False,
    names_document: str | None = None,
    document_id: str | None = None,
    include_document_id: bool = True,
    attachments: Sequence[Attachment] = (),
    sent_at: datetime | None = None,
    variant: str = "qcvn",
    shuffle_seed: int | None = None,
) -> bytes:
    """An edXML document package; ``business`` is BussinessDocType (0 new, 1 revoke, 2 update, 3 replace)."""
    own_id = document_id or f"{sender},{promulgation:%Y/%m/%d},{number}/{notation}"
    fields: list[_Node] = [
        _organ("From", sender, sender_name),
        *(_organ("To", code, name) for code, name in recipients),
        ("Code", [("CodeNumber", number), ("CodeNotation", notation)]),
        ("PromulgationInfo", [("Place", "Bắc Kạn"), ("PromulgationDate", f"{promulgation:%Y/%m/%d}")]),
        ("DocumentType", [("Type", "1"), ("TypeName", type_name)]),
        ("Subject", subject),
        *([("DueDate", f"{due:%Y/%m/%d}")] if due else []),
        ("SteeringType", "0"),
        *([("DocumentId", own_id)] if include_document_id else []),
    ]
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(fields)
    stamp = sent_at or datetime(promulgation.year, promulgation.month, promulgation.day, 8, 0, 0)
    replacement: list[_Node] = (
        [("ReplacementInfoList", [("ReplacementInfo", [("DocumentId", names_document)])])]
        if names_document and business == 3
        else []
    )
    business_node: _Node = (
        "Bussiness",
        [
            ("BussinessDocType", str(business)),
            ("BussinessDocReason", "Văn bản điện tử"),
            ("DocumentId", names_document or own_id),
            ("Paper", "1" if paper else "0"),
            *replacement,
        ],
    )
    trace: _Node = (
        "TraceHeaderList",
        [
            ("TraceHeader", [("OrganId", sender), ("Timestamp", f"{stamp:%Y/%m/%d %H:%M:%S}")]),
            business_node,
        ],
    )
    references: _Node = (
        "edXMLManifest",
        [("Reference", [("ContentId", f"cid:{n}"), ("AttachmentName", a.name)]) for n, a in enumerate(attachments, 1)],
    )
    return _wrap(variant, [("MessageHeader", fields), trace], [references], attachments)


def build_status(
    *,
    document_id: str,
    reporter: str,
    code: str,
    reporter_name: str = "Đơn vị nhận",
    description: str = "Đã tiếp nhận",
    timestamp: datetime | None = None,
    timestamp_format: str = "%Y/%m/%d %H:%M:%S",
    variant: str = "qcvn",
    soap_base64: bool = False,
) -> bytes:
    """An edXML status package; ``soap_base64`` gives the legacy SOAP-wrapped, base64-encoded form."""
    stamp = timestamp or datetime(2026, 3, 2, 9, 30, 0)
    status: _Node = (
        "Status",
        [
            ("ResponseFor", [("OrganId", document_id.split(",")[0]), ("DocumentId", document_id)]),
            _organ("From", reporter, reporter_name),
            ("StatusCode", code),
            ("Description", description),
            ("Timestamp", stamp.strftime(timestamp_format)),
            ("StaffInfo", [("Department", "Văn thư"), ("Staff", "Nguyễn Văn A")]),
        ],
    )
    if not soap_base64:
        return _wrap(variant, [status], [], ())
    soap = (
        '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns:edXML="{QCVN_NS}"><SOAP-ENV:Header>{_render(status, "edXML:")}</SOAP-ENV:Header>'
        "<SOAP-ENV:Body/></SOAP-ENV:Envelope>"
    )
    return base64.encodebytes(soap.encode())
