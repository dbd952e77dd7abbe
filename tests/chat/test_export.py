"""Exporting a conversation to a file, without Qt: the kinds, the suggested name, the names made safe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.chat.export import EXPORT_KINDS, export_format, export_to_path, suggested_file_name
from app.store import NewAttachment, NewMessage, Store

OVERRIDE = "\u202e"


def test_the_suggested_name_keeps_letters_and_drops_separators_and_controls() -> None:
    assert suggested_file_name("Trip / plans", "markdown") == "Trip _ plans.md"
    assert suggested_file_name(f"invoice{OVERRIDE}fdp", "json") == "invoice_fdp.json"
    assert suggested_file_name("../..", "json") == "_____.json"
    assert suggested_file_name("", "markdown") == "conversation.md"
    assert export_format("json").label == "JSON (*.json)"


def test_each_kind_writes_its_file_with_names_made_safe(store: Store, tmp_path: Path) -> None:
    conversation = store.create_conversation(title=f"Report {OVERRIDE}cod.exe")
    user = store.append_message(conversation.id, NewMessage("user", "Is this real?"))
    store.add_attachment(user.id, NewAttachment(file_name=f"invoice{OVERRIDE}fdp.exe.txt",
                                                kind="text/plain", sha256="0" * 64, text="Pay 100.",
                                                token_count=5))
    store.append_message(conversation.id, NewMessage("assistant", "Thinking it over.", channel="analysis"))
    store.append_message(conversation.id, NewMessage("assistant", "It looks odd.", channel="final"))
    written = {}
    for kind in EXPORT_KINDS:
        path = tmp_path / suggested_file_name(f"{kind}", kind)
        export_to_path(store, conversation.id, kind, path)
        written[kind] = path.read_text(encoding="utf-8")
        assert OVERRIDE not in written[kind]
    assert "# Report [U+202E]cod.exe" in written["markdown"]
    assert "invoice[U+202E]fdp.exe.txt" in written["markdown"]
    assert "Thinking it over." in written["markdown"]
    assert "Thinking it over." not in written["markdown-answers"]
    assert "It looks odd." in written["markdown-answers"]
    assert json.loads(written["json"])["title"] == f"Report {OVERRIDE}cod.exe"  # the data, exactly


def test_a_folder_that_cannot_be_written_raises_oserror(store: Store, tmp_path: Path) -> None:
    conversation = store.create_conversation(title="x")
    with pytest.raises(OSError):
        export_to_path(store, conversation.id, "markdown", tmp_path / "missing" / "x.md")
