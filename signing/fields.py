"""Signature fields: the empty boxes the minutes carry before anyone signs, and their state.

The minutes have two fields, signed in order: the secretary's (`SECRETARY_FIELD`), then
the chair's (`CHAIR_FIELD`). The chair's field carries a lock (a /Lock dictionary with
FieldMDP "all fields" and DocMDP P=1): once the chair signs, any later change to the
document breaks validation; only validation data (DSS) and document timestamps may follow.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import (
    FieldMDPAction,
    FieldMDPSpec,
    MDPPerm,
    SigFieldSpec,
    append_signature_field,
    enumerate_sig_fields,
)

from .errors import InvalidDocument

SECRETARY_FIELD = "ThuKy"
CHAIR_FIELD = "ChuToa"
SIGNING_ORDER: tuple[str, ...] = (SECRETARY_FIELD, CHAIR_FIELD)


@dataclass(frozen=True)
class FieldPlacement:
    """Where a new empty field goes: page index (0-based) and box in PyMuPDF coordinates
    (points, origin top-left: x0, y0, x1, y1). `lock` makes signing it lock the document."""

    name: str
    page: int
    box: tuple[float, float, float, float]
    label: str = ""
    lock: bool = False


@dataclass(frozen=True)
class FieldState:
    """A signature field found in a PDF."""

    name: str
    signed: bool
    locks_document: bool


def open_reader(pdf: bytes) -> PdfFileReader:
    """A pyHanko reader over `pdf`; raises `InvalidDocument` if it is not a readable PDF."""
    try:
        return PdfFileReader(io.BytesIO(pdf), strict=False)
    except (PdfError, ValueError, KeyError, IndexError) as exc:
        raise InvalidDocument(str(exc)) from exc


def add_signature_fields(pdf: bytes, placements: Sequence[FieldPlacement]) -> bytes:
    """`pdf` with empty signature fields appended (one incremental update)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    for p in placements:
        height = _page_height(writer, p.page)
        x0, y0, x1, y1 = p.box
        spec = SigFieldSpec(
            sig_field_name=p.name,
            on_page=p.page,
            box=(round(x0), round(height - y1), round(x1), round(height - y0)),
            readable_field_name=p.label or None,
            field_mdp_spec=FieldMDPSpec(FieldMDPAction.ALL) if p.lock else None,
            doc_mdp_update_value=MDPPerm.NO_CHANGES if p.lock else None,
        )
        append_signature_field(writer, spec)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _page_height(writer: IncrementalPdfFileWriter, index: int) -> float:
    page_ref, _ = writer.find_page_for_modification(index)
    page = page_ref.get_object()
    box = page.get("/MediaBox") or writer.root["/Pages"].get("/MediaBox")
    return float(box[3]) - float(box[1])


def signature_fields(pdf: bytes | PdfFileReader) -> list[FieldState]:
    """Every signature field of `pdf`, in document order, and whether it is signed."""
    reader = pdf if isinstance(pdf, PdfFileReader) else open_reader(pdf)
    states = []
    for name, value, ref in enumerate_sig_fields(reader):
        field = ref.get_object()
        lock = field.get("/Lock")
        locks = lock is not None and int(lock.get_object().get("/P", 0)) == 1
        states.append(FieldState(name=str(name), signed=value is not None, locks_document=locks))
    return states
