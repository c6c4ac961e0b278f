"""data_samples/score/make_reference.py: what it keeps of a Project Gutenberg text file."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "data_samples" / "score" / "make_reference.py"
spec = importlib.util.spec_from_file_location("make_reference", SCRIPT)
make_reference = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_reference)

PROSE = ("It was late in the afternoon when the ship came in, and the passengers crowded the rail to see the "
         "harbour, the white houses on the hill, and the boats that came out to meet them with fruit, letters and the news of home.")
GUTENBERG = (
    "The Project Gutenberg EBook of A Voyage\r\nThis eBook is for the use of anyone anywhere at no cost\r\n\r\n"
    "*** START OF THIS PROJECT GUTENBERG EBOOK A VOYAGE ***\r\n\r\nProduced by Some Volunteers, and the Online "
    "Distributed Proofreading Team at http://www.pgdp.net, who gave many hours to this fine book of travel.\r\n\r\n"
    "CHAPTER I.\r\n\r\n" + PROSE.replace(" the harbour,", "\r\nthe harbour,") + "\r\n\r\n"
    "End of the Project Gutenberg EBook of A Voyage\r\n\r\n*** END OF THIS PROJECT GUTENBERG EBOOK A VOYAGE ***\r\n"
    "Section 1. General Terms of Use and Redistributing Project Gutenberg-tm electronic works\r\n"
)


def test_keeps_the_book_and_drops_licence_credits_and_headings():
    paras = make_reference.paragraphs(make_reference.book_text(GUTENBERG))
    assert paras == [PROSE]  # wraps joined; header, footer, producers' credit and the heading gone


def test_a_file_without_markers_is_refused():
    with pytest.raises(ValueError, match="START/END"):
        make_reference.book_text("Just some text.\n" * 10)


def test_chunks_hold_whole_paragraphs_up_to_the_limit():
    paras = [PROSE] * 50
    chunks = make_reference.chunks(paras)
    assert all(len(c) <= make_reference.CHUNK_CHARS for c in chunks)
    assert sum(c.count(PROSE) for c in chunks) == 50


def test_a_changed_file_fails_its_pinned_hash(tmp_path):
    repo, commit, path, digest, _ = make_reference.BOOKS[0]
    (tmp_path / repo.split("/")[1]).mkdir()
    (tmp_path / repo.split("/")[1] / path).write_text(GUTENBERG)
    with pytest.raises(SystemExit, match="sha256"):
        make_reference.load(repo, commit, path, digest, tmp_path)
