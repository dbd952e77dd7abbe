"""`ChatSession`: one open conversation and the user's actions on it.

Send, stop, regenerate, edit and resend, continue an interrupted answer. Each action that makes the
model write runs a `TurnRunner` on a background thread, one at a time, and returns at once: the caller
(the window) never waits on the engine. What the session learns it tells its listener as chat events,
from that background thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.chat.errors import ChatBusy, NothingToDo
from app.chat.events import ChatEvent, ChatListener, TurnFinished, TurnStarted, TurnStats
from app.chat.prompt import PromptSettings
from app.chat.turn import TurnOptions, TurnRunner
from app.engine.interface import Engine
from app.store import MessageRecord, NewAttachment, Store, StoreError
from app.tools import ToolSession

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionOptions:
    turn: TurnOptions = field(default_factory=TurnOptions)
    instructions: str | None = None


class ChatSession:
    """The conversation `conversation_id` in `store`, talking to `engine`, using `tools`."""

    def __init__(self, *, store: Store, engine: Engine, conversation_id: int, listener: ChatListener,
                 tools: ToolSession | None = None, options: SessionOptions | None = None) -> None:
        self.store = store
        self.engine = engine
        self.conversation_id = conversation_id
        self.tools = tools or ToolSession()
        self.options = options or SessionOptions()
        self._listener = listener
        self._lock = threading.Lock()
        self._runner: TurnRunner | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------------------------ queries

    @property
    def busy(self) -> bool:
        """True from the start of a turn until its TurnFinished has been sent."""
        with self._lock:
            return self._runner is not None

    def messages(self) -> list[MessageRecord]:
        return self.store.list_messages(self.conversation_id)

    def prompt_settings(self) -> PromptSettings:
        conversation = self.store.get_conversation(self.conversation_id)
        return PromptSettings(
            reasoning_effort=conversation.reasoning_effort,
            start_date=conversation.created_at.date(),
            instructions=conversation.settings.get("instructions") or self.options.instructions,
            system_tools=self.tools.system_tools(),
            developer_tools=self.tools.developer_tools(),
        )

    # ------------------------------------------------------------------------------------ actions

    def send(self, text: str, attachments: Sequence[NewAttachment] = ()) -> int:
        """Store the user's message (and documents) and start the answer. Returns the turn id."""
        self._require_idle()
        user_turn = self.store.add_user_turn(self.conversation_id, text, attachments)
        self._start(user_turn.turn.id, user_turn.message.id)
        return user_turn.turn.id

    def regenerate(self) -> int:
        """Throw away the last answer (everything after the last user message) and answer again."""
        self._require_idle()
        user = self._last_user_message()
        self.store.delete_messages_after(user.id)
        assert user.turn_id is not None
        self._start(user.turn_id, user.id)
        return user.turn_id

    def edit_and_resend(self, message_id: int, text: str) -> int:
        """Replace a user message's text, drop everything after it, and answer the new text."""
        self._require_idle()
        message = self.store.get_message(message_id)
        if message.role != "user" or message.conversation_id != self.conversation_id:
            raise NothingToDo("Only your own messages in this conversation can be edited.")
        self.store.update_message_content(message_id, text, "complete")
        self.store.delete_messages_after(message_id)
        assert message.turn_id is not None
        self._start(message.turn_id, message_id)
        return message.turn_id

    def continue_answer(self) -> int:
        """Let the model go on writing the interrupted message at the end of the conversation."""
        self._require_idle()
        messages = self.messages()
        last = messages[-1] if messages else None
        if last is None or last.role != "assistant" or last.status != "interrupted" or last.recipient:
            raise NothingToDo("There is no interrupted answer to continue.")
        assert last.turn_id is not None
        self._start(last.turn_id, None, continue_message=last)
        return last.turn_id

    def stop(self) -> None:
        """Stop the running turn, if any (what was written so far is kept)."""
        with self._lock:
            runner = self._runner
        if runner is not None:
            runner.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the running turn to end (tests, the CLI, shutdown). True if none is running."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    # ----------------------------------------------------------------------------------- internals

    def _require_idle(self) -> None:
        if self.busy:
            raise ChatBusy("The model is still answering; stop it first.")

    def _last_user_message(self) -> MessageRecord:
        for message in reversed(self.messages()):
            if message.role == "user":
                return message
        raise NothingToDo("There is no question to answer again yet.")

    def _start(self, turn_id: int, user_message_id: int | None,
               continue_message: MessageRecord | None = None) -> None:
        runner = TurnRunner(store=self.store, engine=self.engine, tools=self.tools,
                            conversation_id=self.conversation_id, turn_id=turn_id,
                            settings=self.prompt_settings(), listener=self._relay,
                            options=self.options.turn)
        thread = threading.Thread(target=self._run, args=(runner, continue_message),
                                  name=f"turn-{turn_id}", daemon=True)
        with self._lock:
            self._runner, self._thread = runner, thread
        self._listener(TurnStarted(self.conversation_id, turn_id, user_message_id))
        thread.start()

    def _relay(self, event: ChatEvent) -> None:
        # Idle before observers hear that the turn ended, so one that reacts by sending is not refused.
        if isinstance(event, TurnFinished):
            with self._lock:
                self._runner = None
        self._listener(event)

    def _run(self, runner: TurnRunner, continue_message: MessageRecord | None) -> None:
        try:
            runner.run(continue_message)
        except StoreError as exc:
            self._relay(TurnFinished(runner.turn_id, "interrupted", TurnStats(),
                                     f"The conversation could not be saved: {exc}"))
        except Exception:  # a bug: log it, tell the user, keep the window alive
            log.exception("turn failed")
            self._relay(TurnFinished(runner.turn_id, "failed", TurnStats(),
                                        "Something went wrong while answering; details are in the log."))
        finally:
            with self._lock:
                if self._runner is runner:
                    self._runner = None
