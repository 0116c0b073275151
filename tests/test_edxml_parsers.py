"""The fast parse (lxml, for packages without a DOCTYPE) reads every package exactly as defusedxml does.

``docflow.readers.edxml`` parses a package with lxml when it can do so safely and falls back to
defusedxml otherwise. Whatever the path, a clerk must get the same document, the same
attachments and the same rejection reason: these tests read real, generated and mutated
packages both ways and compare the items.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import date, datetime

import pybase64
import pytest
from helpers.fuzz import FUZZ, edxml_seeds, mutated
from helpers.hostile import time_limit
from helpers.ingest import OTHER, RECIPIENT, SENDER, edxml
from helpers.vectors import VECTORS
from hypothesis import example, given, settings
from hypothesis import strategies as st

import docflow.readers.edxml as edxml_module
from docflow.readers.edxml import read_edxml
from docflow.records import RejectedItem
from samples.edxml import VARIANTS, Attachment, build_edxml, build_status
from samples.pdfgen import make_pdf

EDXML_VECTORS = VECTORS / "edxml"


def _both_ways(name: str, data: bytes) -> tuple[list[object], list[object]]:
    fast = read_edxml(name, data)
    original = edxml_module._parse_without_doctype
    edxml_module._parse_without_doctype = lambda body: None  # type: ignore[assignment]
    try:
        defused = read_edxml(name, data)
    finally:
        edxml_module._parse_without_doctype = original
    return fast, defused


def _corpus() -> Iterator[tuple[str, bytes]]:
    pdf = make_pdf("Công văn", ["Điều 1."])
    for variant in VARIANTS:
        yield (
            variant,
            build_edxml(
                variant=variant,
                sender=SENDER,
                sender_name="Sở Nội vụ",
                recipients=[(RECIPIENT, "Sở Tài chính"), (OTHER, "UBND huyện")],
                number="12",
                notation="SNV-VP",
                promulgation=date(2024, 3, 1),
                due=date(2024, 3, 15),
                attachments=[Attachment("QĐ 12.pdf", pdf)],
            ),
        )
    yield (
        "status",
        build_status(
            document_id=f"{SENDER},2024/03/01,12/SNV-VP",
            reporter=RECIPIENT,
            code="06",
            timestamp=datetime(2024, 3, 4, 10, 0),
        ),
    )
    yield (
        "status-soap",
        build_status(
            document_id=f"{SENDER},2024/03/01,12/SNV-VP",
            reporter=RECIPIENT,
            code="03",
            timestamp=datetime(2024, 3, 4, 10, 0),
            soap_base64=True,
        ),
    )
    for business in ("revoke", "update", "replace"):
        yield business, edxml(business=business, names_document=f"{SENDER},2024/02/01,3/SNV-VP")
    plain = edxml(attachment=("a.pdf", pdf)).decode()
    encoded = base64.b64encode(pdf).decode()
    wrapped = "\n".join(encoded[start : start + 76] for start in range(0, len(encoded), 76))
    yield "base64 in lines", plain.replace(encoded, wrapped).encode()
    yield (
        "comment, PI and CDATA",
        plain.replace("<edXML ", "<!-- xuất từ hệ thống cũ --><?app v=1?><edXML ", 1)
        .replace("Về việc thử nghiệm 1", "<![CDATA[Về việc <thử> nghiệm 1]]>")
        .encode(),
    )
    yield "UTF-8 BOM", b"\xef\xbb\xbf" + plain.encode()
    yield "entity references", plain.replace("Về việc thử nghiệm 1", "A &amp; B &#7889; &lt;C&gt;").encode()
    yield "undefined entity", plain.replace("Về việc thử nghiệm 1", "&nbsp;").encode()
    yield "latin-1 declared", plain.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').encode("utf-8")
    # ElementTree drops comments and processing instructions and keeps the text around them as one string.
    yield "PI inside a value", plain.replace("SNV-VP</edXML:DocumentId>", "SNV-<?x?>VP</edXML:DocumentId>").encode()
    yield "comment inside a value", plain.replace("Về việc thử", "Về việc <!-- ghi chú --> thử").encode()
    yield "not well-formed", plain[: len(plain) // 2].encode()
    yield "undeclared prefix", plain.replace(' xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016"', "").encode()
    yield (
        "deeper than lxml's limit",
        plain.replace("<edXML:Subject>", "<a>" * 300 + "<edXML:Subject>")
        .replace("</edXML:Subject>", "</edXML:Subject>" + "</a>" * 300)
        .encode(),
    )
    if EDXML_VECTORS.exists():
        for path in sorted(EDXML_VECTORS.glob("*.edxml")):
            yield path.name, path.read_bytes()


@pytest.mark.parametrize(("name", "data"), list(_corpus()), ids=[name for name, _ in _corpus()])
def test_fast_and_defused_parses_read_the_same_items(name: str, data: bytes) -> None:
    fast, defused = _both_ways(f"{name}.edxml", data)
    assert fast == defused


def test_the_corpus_takes_the_fast_path() -> None:
    # The comparison above means something only if lxml really parses these packages.
    taken = [
        name
        for name, data in _corpus()
        if edxml_module._parse_without_doctype(data.lstrip(b"\xef\xbb\xbf")) is not None
    ]
    assert {"qcvn", "govn", "status", "base64 in lines", "comment, PI and CDATA"} <= set(taken)


def test_an_encoding_python_does_not_know_is_a_rejection_not_a_crash() -> None:
    data = edxml().replace(b'encoding="UTF-8"', b'encoding="ISO-8859-Q"')
    [item] = read_edxml("x.edxml", data)
    assert isinstance(item, RejectedItem) and "could not be decoded as XML" in item.reason


_XML_TOKENS = (
    b"<?x?>",
    b"<!-- c -->",
    b"<![CDATA[x]]>",
    b"&amp;",
    b"&#7889;",
    b"&#0;",
    b"\r\n",
    b"\r",
    b"<",
    b"&",
    b"]]>",
    b"xmlns:p='u'",
    b"p:",
    b"\xc3",
    b"\xef\xbf\xbe",
    b"\x00",
)


def _with_tokens(seed: bytes, edits: list[tuple[float, bytes]]) -> bytes:
    data = bytearray(seed)
    for where, token in edits:
        at = int(where * len(data))
        data[at:at] = token
    return bytes(data)


_TOKENED = st.builds(
    _with_tokens,
    st.sampled_from([data for _, data in _corpus()]),
    st.lists(st.tuples(st.floats(0, 1), st.sampled_from(_XML_TOKENS)), min_size=1, max_size=3),
)
"""A package with XML's own syntax spliced in anywhere: most stay well-formed for one parser or both."""


@FUZZ
@given(st.one_of(mutated(edxml_seeds), _TOKENED))
def test_fast_and_defused_parses_agree_on_mutated_packages(data: bytes) -> None:
    with time_limit():
        fast, defused = _both_ways("fuzz.edxml", data)
    assert fast == defused


_BASE64_TEXT = st.text(alphabet="AQgw+/=\n\r\t -_é\x00", max_size=24)
"""Short strings around the edges of base64: padding anywhere, line breaks, characters outside the alphabet."""


@settings(max_examples=3_000, deadline=None, database=None)
@given(st.one_of(_BASE64_TEXT, st.binary(max_size=40).map(lambda data: base64.b64encode(data).decode())))
# Where the decoders part ways: a lone "=" after a whole group (pybase64 refuses, base64 accepts), padding
# before more data, missing padding, wrapped lines.
@example("/Aww=")
@example("QQ==QQ==")
@example("QQ=")
@example("Q\nQ==")
@example("QQ")
def test_the_fast_base64_decoder_accepts_only_what_the_rules_accept(text: str) -> None:
    assert edxml_module._decode_base64(text) == edxml_module._decode_base64_by_the_rules(text)


def test_the_fast_base64_decoder_takes_real_attachments() -> None:
    encoded = base64.b64encode(make_pdf("Công văn", ["Điều 1."])).decode()
    assert pybase64.b64decode(encoded, validate=True) == base64.b64decode(encoded)
    assert edxml_module._decode_base64(encoded[:-1]) is None
