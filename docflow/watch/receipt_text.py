"""``NAME.receipt.txt``: the receipt as a clerk reads it, in the reader's language (Vietnamese unless the
watcher runs with ``--lang en`` or ``DOCFLOW_LANG=en``), times as dd/mm/yyyy HH:MM:SS.

The reasons themselves are the readers' and the store's (English, shown as stored); the frame around them
says in plain words what happened and what to do next.
"""

from __future__ import annotations

from datetime import tzinfo

from docflow.i18n import N_, _
from docflow.times import DEFAULT_TIMEZONE, for_people
from docflow.watch.receipt import Receipt

__all__ = ["receipt_text"]

_HEADLINES = {
    "ingested": N_("Batch of documents RECEIVED."),
    "rejected": N_("This batch of documents could NOT BE RECEIVED: no item was accepted."),
    "duplicate": N_("This batch of documents WAS PROCESSED BEFORE; nothing more was recorded this time."),
}
_PARTLY = N_("Some items were NOT accepted (see the list below); the other items were accepted.")
_VERDICTS = {"TOTAL_FAILED": N_("not valid"), "INDETERMINATE": N_("could not be confirmed")}
_NEXT_STEPS = {
    "ingested": N_("Nothing more to do."),
    "rejected": N_(
        "Read the reasons, fix or export the batch again from the document management software, then drop the "
        "new batch into the inbox folder."
    ),
    "duplicate": N_("No need to send this batch again."),
}
_NEXT_STEPS_PARTLY = N_("Only fix and send again the items not accepted, in a new batch.")


def receipt_text(receipt: Receipt, zone: tzinfo | None = None) -> str:
    """``zone``: ``[display] timezone`` (None: Asia/Ho_Chi_Minh, named "Vietnam time")."""
    if zone is None or str(zone) == DEFAULT_TIMEZONE:
        zone_name = _("Vietnam time")
    else:
        zone_name = _("time zone {zone}").format(zone=zone)
    headline = _HEADLINES.get(receipt.outcome)
    lines = [
        _("BATCH RECEIPT"),
        "",
        _("Batch name:      {name}").format(name=receipt.batch),
        _("SHA-256:         {sha256}").format(sha256=receipt.sha256 or _("(unreadable)")),
        _("Received at:     {when} ({zone})").format(when=for_people(receipt.received_at, zone), zone=zone_name),
        "",
        _(headline) if headline else receipt.outcome,
    ]
    partly = receipt.outcome == "ingested" and bool(receipt.rejected_items)
    if partly:
        lines.append(_(_PARTLY))
    if receipt.earlier:
        lines.append(_("Previously: {earlier}").format(earlier=receipt.earlier))
    if receipt.outcome != "duplicate":
        counts = receipt.counts
        lines += [
            "",
            _("Documents recorded: {documents} (new: {new}, updated: {updated})").format(
                documents=counts.documents, new=counts.new_documents, updated=counts.updated_documents
            ),
            _("Digital signatures recorded: {count}").format(count=counts.signatures),
        ]
    lines += _refused_lines(receipt) + _signature_lines(receipt)
    step = _NEXT_STEPS_PARTLY if partly else _NEXT_STEPS.get(receipt.outcome)
    lines += ["", _("What to do: {step}").format(step=_(step) if step else ""), ""]
    return "\n".join(lines)


def _refused_lines(receipt: Receipt) -> list[str]:
    if not receipt.rejected_items:
        return []
    lines = ["", _("Items not accepted ({count}):").format(count=len(receipt.rejected_items))]
    for number, item in enumerate(receipt.rejected_items, 1):
        lines += [
            f"{number}. {item.item}",
            "   " + _("Reason: {reason}").format(reason=_(item.reason)),
            # docflow's own advice is a message of the catalog; a reader's comes as stored and stays as it is.
            "   " + _("To do: {what}").format(what=_(item.what_to_do)),
        ]
    return lines


def _signature_lines(receipt: Receipt) -> list[str]:
    if not receipt.signatures_not_passed:
        return []
    lines = ["", _("Digital signatures that did not pass ({count}):").format(count=len(receipt.signatures_not_passed))]
    for number, signature in enumerate(receipt.signatures_not_passed, 1):
        word = _VERDICTS.get(signature.passed_indication)
        verdict = _(word) if word else signature.passed_indication
        lines += [
            f"{number}. " + _("Document: {document}").format(document=signature.document),
            "   " + _("Signer: {signer}").format(signer=signature.signer),
            "   " + _("Result: {verdict} ({detail})").format(verdict=verdict, detail=signature.verdict),
        ]
    return lines
