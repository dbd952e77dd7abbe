"""The point of a deterministic prompt block: a follow-up question reuses the document from the cache.

End to end on the tiny gpt-oss model in the real engine: the attachment is extracted once, stored as a
record, restored for the next turn (as a reopened conversation would), and the engine must find the
whole document in its cached prefix, evaluating only the new turn.
"""

from __future__ import annotations

from app.documents import ExtractedDocument, extract, format_for_prompt
from app.engine.interface import Done, GenerateRequest, SamplingSettings
from app.harmony import ASSISTANT, SYSTEM, USER, Message, SystemContent, render_conversation
from fixtures.documents import prose_lines, write_pdf


def first_token_done(engine, messages) -> Done:
    request = GenerateRequest(tuple(render_conversation(messages)), SamplingSettings(max_tokens=1, seed=3))
    events = list(engine.generate(request))
    assert isinstance(events[-1], Done), events[-1]
    return events[-1]


def test_follow_up_question_reuses_the_document_prefix(tmp_path, tiny_engine, count_tokens):
    document = extract(write_pdf(tmp_path / "report.pdf", [prose_lines(20, seed=n) for n in range(3)]))
    system = Message(SYSTEM, SystemContent(conversation_start_date="2025-08-05"))
    first_turn = [system, Message(USER, f"{format_for_prompt(document)}\n\nWhat is on page 2?")]
    first = first_token_done(tiny_engine, first_turn)

    restored = ExtractedDocument.from_record(document.to_record())
    second_turn = [
        system,
        Message(USER, f"{format_for_prompt(restored)}\n\nWhat is on page 2?"),
        Message(ASSISTANT, "Words about rivers.", channel="final"),
        Message(USER, "And on page 3?"),
    ]
    second = first_token_done(tiny_engine, second_turn)

    block_tokens = count_tokens([format_for_prompt(document)])[0]
    assert first.prompt_tokens > block_tokens
    # The whole first prompt came from the cache, the document included: only the new turn is evaluated.
    assert second.reused_tokens == first.prompt_tokens
    assert second.evaluated_tokens == second.prompt_tokens - first.prompt_tokens
