"""The context meter on gpt-oss's real tokenizer, held against the reference (openai-harmony).

A stored conversation with a document already sent, a pending document and a draft: the meter's parts
(system and developer, history, the message being written, the pending document) must add up to the
reference's count of the very prompt the next turn sends, and the pending document's share must be what
it adds to that prompt. The engine is the app's own worker with the real-vocabulary tiny model.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from app.chat.attachments import prepare_document
from app.chat.context_meter import PendingDocument, read_meter
from app.chat.prompt import PromptSettings, conversation_messages
from app.documents import format_for_prompt
from app.engine.client import WorkerEngine
from app.engine.interface import LoadPlan
from app.harmony import ASSISTANT, USER, Message
from app.store import NewMessage, Store
from fixtures.documents import prose_lines, write_pdf, write_text
from tests.harmony.reference import reference_render

SETTINGS = PromptSettings(reasoning_effort="low", start_date=date(2025, 8, 5), instructions="Be brief.")
DRAFT = "And what does the second report say about the bridges near Köln? Answer in 3 sentences."


@pytest.fixture(scope="module")
def engine(real_vocabulary_model_path: Path) -> Iterator[WorkerEngine]:
    engine = WorkerEngine()
    engine.load(LoadPlan(str(real_vocabulary_model_path), n_ctx=32768, n_threads=1)).result(timeout=120)
    yield engine
    engine.close()


def count_tokens(engine: WorkerEngine):
    return lambda texts: engine.count_tokens(texts).result(timeout=60)


def test_the_meter_adds_up_to_the_reference_prompt(engine: WorkerEngine, store: Store,
                                                   tmp_path: Path) -> None:
    sent = prepare_document(write_pdf(tmp_path / "first.pdf", [prose_lines(15, seed=n) for n in range(3)]),
                            count_tokens=count_tokens(engine))
    conversation = store.create_conversation()
    store.add_user_turn(conversation.id, "What is in this report?", [sent.new_attachment()])
    store.append_message(conversation.id, NewMessage(role="assistant", content="Rivers and 12 bridges.",
                                                     channel="final"))
    pending = prepare_document(write_text(tmp_path / "second.md", "# Brücken\n\n" + "\n".join(
        prose_lines(30, seed=5)) + "\n\n| Stadt | Brücken |\n|---|---|\n| Köln | 8 |\n"),
        count_tokens=count_tokens(engine))

    reading = read_meter(store=store, engine=engine, settings=SETTINGS, conversation_id=conversation.id,
                         draft=DRAFT, pending=[PendingDocument("p", pending)], n_ctx=32768)

    history = conversation_messages(store.list_messages(conversation.id),
                                    store.list_attachments(conversation.id), SETTINGS)
    # the chat puts documents first, then the question after a blank line (app.chat.prompt.user_content)
    next_user = Message(USER, f"{format_for_prompt(pending.document)}\n\n{DRAFT}")
    with_document = len(reference_render([*history, next_user], ASSISTANT))
    without = len(reference_render([*history, Message(USER, DRAFT)], ASSISTANT))
    assert not reading.estimated
    assert reading.document_tokens == pending.tokens.tokens == with_document - without
    assert (reading.system_tokens + reading.history_tokens + reading.draft_tokens
            + reading.document_tokens) == with_document
