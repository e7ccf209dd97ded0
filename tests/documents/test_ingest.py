"""Ingest: every file of the corpus gets its expected outcome, decided by content."""

from __future__ import annotations

import pymupdf
import pytest

from phonghop.documents.convert import soffice
from phonghop.documents.ingest import IngestError
from phonghop.documents.library import Library
from tests.documents.conftest import store
from tests.documents.corpus import Case, corpus, many_pages

CASES = corpus()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_each_file_gets_its_expected_outcome(library: Library, case: Case) -> None:
    expected = case.outcome
    if expected == "office":
        expected = "ok" if soffice() else "conversion_unavailable"
    if expected != "ok":
        with pytest.raises(IngestError) as refused:
            await store(library, case.data)
        assert refused.value.code == expected
        return
    stored = await store(library, case.data)
    if case.pages:
        assert len(stored.info["sizes"]) == case.pages
    if case.sizes:
        assert [tuple(s) for s in stored.info["sizes"]] == list(case.sizes)
    # What is kept opens cleanly, without repair, and has the same pages.
    with pymupdf.open(library.path(stored.sha256)) as doc:
        assert doc.page_count == len(stored.info["sizes"])
        assert not doc.is_repaired and not doc.needs_pass


async def test_a_damaged_file_is_kept_repaired_and_says_so(library: Library) -> None:
    case = next(c for c in CASES if c.name == "truncated-xref.pdf")
    stored = await store(library, case.data)
    assert stored.info["repaired"] is True
    # The stored copy is the repaired one: its hash is of what is kept.
    assert stored.sha256 != __import__("hashlib").sha256(case.data).hexdigest()
    texts = await library.texts(stored.sha256)
    assert "Trang 3" in texts[2] and "Nghị quyết" in texts[0]


async def test_the_same_bytes_are_stored_once(library: Library) -> None:
    case = CASES[0]
    first = await store(library, case.data)
    again = await store(library, case.data)
    assert first.sha256 == again.sha256
    assert library.path(first.sha256).read_bytes() == case.data
    assert not list(library.tmp.iterdir()), "no temporary file is left behind"


async def test_limits_refuse_too_large_and_too_many_pages(library: Library) -> None:
    with pytest.raises(IngestError) as refused:
        await store(library, b"%PDF-1.7\n" + b"0" * (library.limits.max_bytes + 1))
    assert refused.value.code == "too_large"
    with pytest.raises(IngestError) as refused:
        await store(library, many_pages(library.limits.max_pages + 1))
    assert refused.value.code == "too_many_pages"
    assert not list(library.tmp.iterdir())


async def test_text_is_extracted_per_page_in_nfc(library: Library) -> None:
    stored = await store(library, CASES[0].data)
    texts = await library.texts(stored.sha256)
    assert len(texts) == 5
    assert "Trang 2" in texts[1]
    assert "Nghị quyết về nhiệm vụ phát triển kinh tế" in texts[0].replace("\n", " ")
    import unicodedata
    assert all(unicodedata.is_normalized("NFC", t) for t in texts)
