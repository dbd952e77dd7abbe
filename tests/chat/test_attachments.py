"""Documents in the chat on real parts: files written by the fixtures, the tiny gpt-oss model in the real
worker for token counts and turns, a real SQLite store and search index, the workspace's tool sessions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.chat import attachment_records
from app.chat.attachments import (
    PreparedDocument,
    engine_counter,
    index_path,
    prepare_document,
    recount,
    stored_documents,
    sync_index,
)
from app.chat.events import ToolCallChanged
from app.chat.prompt import PromptSettings, attachment_block, conversation_messages, render_for_generation
from app.chat.session import ChatSession, SessionOptions
from app.chat.turn import TurnOptions
from app.chat.workspace import Workspace
from app.documents import (
    DocumentError,
    DocumentIndex,
    ExtractedDocument,
    ExtractionCancelled,
    format_for_prompt,
)
from app.engine.interface import EngineError, EngineFailure, SamplingSettings
from app.harmony import Text
from app.store import NewAttachment
from fixtures.documents import Para as DocxPara
from fixtures.documents import PdfPage, prose_lines, write_docx, write_pdf, write_text
from tests.chat.conftest import ANALYSIS_THEN_FINAL, Recorder

NEEDLE = "The lantern harbour zeppelin is moored at pier seven."


def small_pdf(tmp_path: Path, name: str = "report.pdf", pages: int = 2) -> Path:
    """A real two-page PDF of about 1,100 tiny-model tokens, with a needle on its last page."""
    page_lines = [prose_lines(8, seed=n) for n in range(pages)]
    page_lines[-1] = [*page_lines[-1][:4], NEEDLE]
    return write_pdf(tmp_path / name, page_lines)


@pytest.fixture
def count(chat_engine):
    counter = engine_counter(chat_engine)
    assert counter is not None
    return counter


@pytest.fixture
def workspace():
    workspace = Workspace()
    yield workspace
    workspace.close()


def send_with(store, prepared: PreparedDocument, mode: str = "inline", text: str = "what is this?"):
    conversation = store.create_conversation(model="tiny")
    store.add_user_turn(conversation.id, text, [prepared.new_attachment(mode)])  # type: ignore[arg-type]
    return conversation


# ------------------------------------------------------------------------------------- preparing


def test_a_pdf_is_counted_with_the_loaded_model_and_becomes_a_record(tmp_path, count, chat_engine) -> None:
    progress = []
    prepared = prepare_document(small_pdf(tmp_path), count_tokens=count, progress=progress.append)
    document = prepared.document
    assert document.name == "report.pdf" and document.page_count == 2
    block = format_for_prompt(document)
    assert prepared.tokens.tokens == chat_engine.count_tokens([block]).result(timeout=60)[0]
    assert not prepared.tokens.estimated and not prepared.reused
    assert any(p.stage == "extracting" and p.unit == "pages" for p in progress)

    row = prepared.new_attachment()
    assert (row.file_name, row.kind, row.page_count) == ("report.pdf", "application/pdf", 2)
    assert row.mode == "inline"
    assert row.sha256 == document.sha256 and row.token_count == prepared.tokens.tokens
    assert json.loads(row.text) == document.to_record()
    assert attachment_records.decode_document(row.text) == document


def test_without_a_model_the_count_is_an_estimate_and_marked(tmp_path, chat_engine) -> None:
    assert engine_counter(None) is None
    notes = write_text(tmp_path / "notes.md", "# Notes\n\nShort ones.\n")
    prepared = prepare_document(notes, count_tokens=None)
    assert prepared.tokens.estimated and prepared.tokens.tokens > 0
    assert prepared.new_attachment().kind == "text/markdown"
    exact = recount(prepared, engine_counter(chat_engine))
    assert not exact.tokens.estimated
    assert exact.tokens.tokens == chat_engine.count_tokens([format_for_prompt(exact.document)]).result(60)[0]


def test_an_engine_that_cannot_count_gives_a_flagged_estimate(tmp_path) -> None:
    def crashed(texts):
        raise EngineFailure(EngineError("crashed", "The engine stopped."))

    prepared = prepare_document(write_text(tmp_path / "a.txt", "some words here\n"), count_tokens=crashed)
    assert prepared.tokens.estimated


def test_cancel_stops_preparing(tmp_path) -> None:
    with pytest.raises(ExtractionCancelled):
        prepare_document(small_pdf(tmp_path), count_tokens=None, cancel=lambda: True)


def test_bad_input_is_a_document_error_for_the_chip(tmp_path) -> None:
    path = write_pdf(tmp_path / "locked.pdf", [["secret"]], user_password="pw")
    with pytest.raises(DocumentError) as caught:
        prepare_document(path, count_tokens=None)
    assert caught.value.kind == "encrypted"


def test_a_file_the_conversation_already_holds_is_reused_not_extracted(tmp_path, store, count) -> None:
    original = prepare_document(small_pdf(tmp_path), count_tokens=count)
    conversation = send_with(store, original)
    known = stored_documents(store, conversation.id)
    assert list(known) == [original.document.sha256]

    copy = Path(shutil.copy(tmp_path / "report.pdf", tmp_path / "report-copy.pdf"))
    progress = []
    again = prepare_document(copy, count_tokens=count, known=known, progress=progress.append)
    assert again.reused
    assert again.document.name == "report-copy.pdf"  # the name it has now; same text, same pages
    assert again.document.text == original.document.text and again.document.pages == original.document.pages
    assert {p.stage for p in progress} == {"reading"}  # hashed, never parsed

    other = prepare_document(write_docx(tmp_path / "other.docx", [DocxPara("Another file.")]),
                             count_tokens=count, known=known)
    assert not other.reused and other.document.kind == "docx"


# --------------------------------------------------------------------------------- the prompt


def test_the_block_is_rebuilt_identically_from_the_store_on_every_turn(tmp_path, store, count) -> None:
    prepared = prepare_document(small_pdf(tmp_path), count_tokens=count)
    conversation = send_with(store, prepared)
    stored = store.list_attachments(conversation.id)
    assert attachment_block(stored[0]) == format_for_prompt(prepared.document)

    def user_text() -> str:
        messages = conversation_messages(store.list_messages(conversation.id),
                                         store.list_attachments(conversation.id), PromptSettings())
        return messages[1].content

    first = user_text()
    assert first.startswith(format_for_prompt(prepared.document)) and first.endswith("what is this?")
    assert user_text() == first  # the same bytes again (the second render comes from the cache)
    reopened_store_rows = store.list_attachments(conversation.id)
    restored = ExtractedDocument.from_record(json.loads(reopened_store_rows[0].text))
    assert format_for_prompt(restored) == format_for_prompt(prepared.document)


def test_a_search_mode_document_puts_a_note_not_its_text_in_the_prompt(tmp_path, store, count) -> None:
    prepared = prepare_document(small_pdf(tmp_path), count_tokens=count)
    conversation = send_with(store, prepared, mode="search")
    [stored] = store.list_attachments(conversation.id)
    assert stored.mode == "search" and stored.token_count == prepared.tokens.tokens
    note = attachment_block(stored)
    assert note.startswith('<document name="report.pdf" type="PDF" pages="2" mode="search">')
    assert "browser.search" in note and NEEDLE not in note


def test_rows_without_a_record_still_reach_the_prompt(store) -> None:
    conversation = store.create_conversation()
    store.add_user_turn(conversation.id, "hi", [NewAttachment("old.txt", "text/plain", "a" * 64,
                                                              "plain text from before", 5)])
    [stored] = store.list_attachments(conversation.id)
    assert attachment_block(stored) == '<document name="old.txt">\nplain text from before\n</document>'
    assert stored_documents(store, conversation.id) == {}


# ------------------------------------------------------------------------------ search mode


def test_opening_a_session_indexes_its_search_documents_and_enables_the_browser(tmp_path, workspace) -> None:
    prepared = prepare_document(small_pdf(tmp_path), count_tokens=None)
    conversation = send_with(workspace.store, prepared, mode="search")
    session = workspace.open_session(conversation.id, Recorder())
    assert [ns.name for ns in session.tools.system_tools()] == ["browser"]
    assert "documents" in session.tools.system_tools()[0].description
    path = index_path(workspace.paths.data, conversation.id)
    assert path == workspace.paths.data / "documents" / f"{conversation.id}.sqlite3" and path.exists()
    hits = session.tools.browser.index.search("zeppelin")
    assert hits and str(hits[0].citation).startswith("report.pdf, page 2")

    plain = workspace.new_conversation()
    assert workspace.open_session(plain.id, Recorder()).tools.system_tools() == ()
    assert not index_path(workspace.paths.data, plain.id).exists()


def test_sync_is_a_lookup_when_indexed_and_drops_what_is_no_longer_attached(tmp_path, store) -> None:
    keep = prepare_document(small_pdf(tmp_path), count_tokens=None)
    gone = prepare_document(write_text(tmp_path / "gone.txt", "old words\n"), count_tokens=None)
    with DocumentIndex(tmp_path / "index.sqlite3") as index:
        index.add(gone.document)
        conversation = send_with(store, keep, mode="search")
        assert sync_index(index, store.list_attachments(conversation.id)) == 1
        chunk_ids = [hit.result_id for hit in index.search("zeppelin")]
        assert sync_index(index, store.list_attachments(conversation.id)) == 1
        assert [hit.result_id for hit in index.search("zeppelin")] == chunk_ids  # not indexed again
        assert [d.name for d in index.documents()] == ["report.pdf"]


def test_a_lost_index_is_rebuilt_from_the_store(tmp_path) -> None:
    first = Workspace()
    prepared = prepare_document(small_pdf(tmp_path), count_tokens=None)
    conversation = send_with(first.store, prepared, mode="search")
    first.open_session(conversation.id, Recorder())
    path = first.document_index_path(conversation.id)
    first.close()
    path.unlink()
    second = Workspace()
    try:
        session = second.open_session(conversation.id, Recorder())
        assert session.tools.browser.index.search("zeppelin")
    finally:
        second.close()


def test_deleting_the_conversation_deletes_its_index(tmp_path, workspace) -> None:
    prepared = prepare_document(small_pdf(tmp_path), count_tokens=None)
    conversation = send_with(workspace.store, prepared, "search")
    workspace.open_session(conversation.id, Recorder())
    path = workspace.document_index_path(conversation.id)
    assert path.exists()
    workspace.delete_conversation(conversation.id)
    assert not path.exists()
    assert all(c.id != conversation.id for c in workspace.store.list_conversations())


def browser_search_grammar(query: str) -> str:
    arguments = json.dumps({"query": query}).replace("\\", "\\\\").replace('"', '\\"')
    return ('root ::= <|channel|> "analysis" <|message|> [a-z ]{3,20} <|end|> '
            f'<|start|> "assistant" <|channel|> "analysis to=browser.search" <|message|> "{arguments}"')


def test_the_model_searches_a_search_mode_document_with_the_browser_tool(tmp_path, workspace,
                                                                         chat_engine) -> None:
    """Sent in search mode from an open session: indexed first, then the turn's browser call finds it."""
    conversation = workspace.new_conversation()
    recorder = Recorder()
    options = SessionOptions(turn=TurnOptions(sampling=SamplingSettings(seed=3, max_tokens=120),
                                              grammar=(browser_search_grammar("zeppelin pier"),
                                                       ANALYSIS_THEN_FINAL)))
    session = ChatSession(store=workspace.store, engine=chat_engine, conversation_id=conversation.id,
                          listener=recorder, tools=workspace.tool_session(conversation), options=options)
    assert session.tools.system_tools() == ()
    prepared = prepare_document(small_pdf(tmp_path), count_tokens=engine_counter(chat_engine))
    workspace.add_search_documents(session, [prepared.document])
    session.send("where is the zeppelin?", [prepared.new_attachment("search")])
    done = recorder.tool_state("done", timeout=120)
    assert done.tool_name == "browser.search"
    assert "report.pdf, page 2" in done.result and "zeppelin" in done.result.lower()
    finished = recorder.finished(timeout=120)
    assert finished.status == "complete"
    assert [e.state for e in recorder.of(ToolCallChanged)][-1] == "done"
    tool_messages = [m for m in workspace.store.list_messages(conversation.id) if m.role == "tool"]
    assert tool_messages and tool_messages[0].name == "browser.search"


# ------------------------------------------------------------------------------ prefix reuse


def test_a_follow_up_reuses_the_cached_prefix_with_the_document(tmp_path, make_session, store, count) -> None:
    prepared = prepare_document(small_pdf(tmp_path), count_tokens=count)
    session, recorder = make_session(max_tokens=40)
    session.send("what is on page 2?", [prepared.new_attachment()])
    first = recorder.finished(timeout=120)
    assert first.status == "complete"
    recorder.clear()
    session.send("and on page 1?")
    second = recorder.finished(timeout=120)
    assert second.status == "complete"

    # The first prompt ran from the system message through the document to `<|start|>assistant`; all
    # of it comes back from the cache on the follow-up, so the document is not evaluated again.
    assert first.stats.prompt_tokens > prepared.tokens.tokens
    assert second.stats.reused_tokens >= first.stats.prompt_tokens
    assert second.stats.evaluated_tokens == second.stats.prompt_tokens - second.stats.reused_tokens
    messages = conversation_messages(store.list_messages(session.conversation_id),
                                     store.list_attachments(session.conversation_id),
                                     session.prompt_settings())
    rendered = "".join(s.text for s in render_for_generation(messages) if isinstance(s, Text))
    assert rendered.count(format_for_prompt(prepared.document)) == 1


def test_a_scanned_pdf_says_ocr_is_not_supported(tmp_path) -> None:
    path = write_pdf(tmp_path / "scan.pdf", [PdfPage(picture=True)])
    with pytest.raises(DocumentError) as caught:
        prepare_document(path, count_tokens=None)
    assert caught.value.kind == "no_text" and "OCR" in caught.value.message
