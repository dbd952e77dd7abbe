"""The process the crash tests kill: it writes a conversation, then streams an answer without end.

Run as `python -m tests.store.streaming_writer DATABASE`. It prints the ids as one JSON line, then
"streaming" once the answer has been written 20 times, and keeps flushing after every delta (no pacing,
so a kill is all but sure to land inside a write) until it is killed.
"""

from __future__ import annotations

import json
import sys

from app.store import MessageStream, NewMessage, open_store

EARLIER_TURNS = 12


def question(index: int) -> str:
    return f"Question {index}: what happens in chapter {index}?"


def answer(index: int) -> str:
    return f"Answer {index}. " + f"In chapter {index} the heron waits by the river. " * 40


def chunk(index: int) -> str:
    return f"<{index:06d}> " + "and the story goes on, " * 10


def main(path: str) -> None:
    store = open_store(path)
    conversation = store.create_conversation(title="A story")
    for index in range(EARLIER_TURNS):
        turn = store.add_user_turn(conversation.id, question(index))
        reasoning = NewMessage("assistant", f"Reasoning {index}", channel="analysis")
        store.append_message(conversation.id, reasoning, turn_id=turn.turn.id)
        store.append_message(conversation.id, NewMessage("assistant", answer(index), channel="final"),
                             turn_id=turn.turn.id)
    turn = store.add_user_turn(conversation.id, "Now tell me the longest story you know.")
    reply = store.append_message(conversation.id, NewMessage("assistant", channel="final",
                                                             status="streaming"), turn_id=turn.turn.id)
    print(json.dumps({"conversation": conversation.id, "question": turn.message.id, "reply": reply.id}),
          flush=True)
    stream = MessageStream(store, reply.id, interval_s=0.0)
    index = 0
    while True:
        stream.append(chunk(index))
        index += 1
        if index == 20:
            print("streaming", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
