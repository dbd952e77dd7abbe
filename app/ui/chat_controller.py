"""Drives the message view for the open conversation: history in, live turns in, user actions out.

The chat room does the work (`ChatSession` runs turns on its own thread and reports chat events); this
controller receives those events on the Qt thread (through an `EventBridge`) and calls the view's slots,
and turns the view's signals (stop, regenerate, edit, approve a tool call, copy, open a link) into
session calls. Stored conversations are drawn from the store's records with the same mapping, so a
reopened conversation looks exactly like it did while it streamed, interrupted answers included.

Signals:
    busyChanged(bool): a turn started or ended.
    turnFinished(object): the chat's TurnFinished (stats for the status line).
    conversationChanged(int): the open conversation's id changed (it is created on the first send).
    titlesChanged(): a turn ended or a conversation was created: the sidebar should refresh.
    notice(str, str): level and text of something the user should read.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication

from app.chat import attachment_records
from app.chat import events as ev
from app.chat.citations import CitationResolver, CitationStream
from app.chat.events import TurnStatus
from app.chat.outcome import TurnOutcome, turn_outcome, turn_replies
from app.chat.session import ChatSession, SessionOptions
from app.chat.turn import item_kind
from app.chat.workspace import Workspace
from app.errors import OssianError
from app.harmony import ReasoningEffort
from app.store import Attachment, MessageRecord, NewAttachment, StoreError, ToolCallState, Transcript
from app.ui.bridge import EventBridge
from app.ui.gc_policy import StreamingCollector
from app.ui.messages.assistant_turn import TurnBadge
from app.ui.messages.attachment_chip import AttachmentChipData
from app.ui.messages.chat_view import ChatView
from app.ui.messages.turn import TurnWidget

log = logging.getLogger(__name__)

SAFE_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
# The chat's turn endings as the view names them, and the words added to its notice.
# The chat room's TurnStatus in the view's own words (the sentences come with the chat's TurnOutcome).
STATUS_VIEW: dict[TurnStatus, TurnBadge] = {
    TurnStatus.COMPLETE: "complete",
    TurnStatus.NO_FINAL: "no_answer",
    TurnStatus.STOPPED: "interrupted",
    TurnStatus.INTERRUPTED: "interrupted",
    TurnStatus.FAILED: "failed",
    TurnStatus.MAX_STEPS: "no_answer",
}


def chip_for(attachment: Attachment) -> AttachmentChipData:
    """A sent document's chip: pages or the original file's size, and its tokens when it is in the prompt
    (a search-mode document's text is not, so no count is shown for it)."""
    size = None if attachment.page_count is not None else attachment_records.attachment_size(attachment)
    tokens = attachment.token_count if attachment.mode == "inline" else None
    return AttachmentChipData(attachment.file_name, pages=attachment.page_count, size_bytes=size,
                              tokens=tokens)


def thinking_seconds(replies: Sequence[MessageRecord], index: int) -> float | None:
    """How long a stored reasoning message took: until the next message of the turn began."""
    if index + 1 >= len(replies):
        return None
    seconds = (replies[index + 1].created_at - replies[index].created_at).total_seconds()
    return seconds if seconds >= 0 else None


class ChatController(QObject):
    busyChanged = Signal(bool)
    turnFinished = Signal(object)
    conversationChanged = Signal(int)
    titlesChanged = Signal()
    notice = Signal(str, str)

    def __init__(self, workspace: Workspace, view: ChatView, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.view = view
        self.session: ChatSession | None = None
        self.conversation_id: int | None = None
        self._bridge = EventBridge(self)
        self._bridge.received.connect(self._on_event)
        # Set by close(): events a stopped session queued before it ended arrive after the workspace
        # (and its store) closed, and must not reach it.
        self._closed = False
        self.collector = StreamingCollector(self)  # no full collection pauses a streaming answer
        self.busyChanged.connect(self.collector.set_streaming)
        self._items: dict[int, tuple[TurnWidget, str]] = {}  # stored message id -> (turn widget, kind)
        self._user_messages: dict[str, int] = {}  # turn id (as the view knows it) -> user message id
        # Citations in answers are shown by file and page, resolved from the browser pages seen so far.
        self._citations = CitationResolver()
        self._answer_streams: dict[int, CitationStream] = {}  # answer message id -> its stream
        self._busy = False
        self._pending_python = False  # the python switch of a chat not created yet
        self._pending_mcp: set[str] = set()  # the MCP servers switched on for a chat not created yet
        # How sessions run their turns (sampling, grammar, step limit); None: the chat room's defaults.
        self.session_options: SessionOptions | None = None
        view.linkClicked.connect(self._open_link)
        view.copyRequested.connect(lambda text: QGuiApplication.clipboard().setText(text))
        view.regenerateRequested.connect(self._regenerate)
        view.continueRequested.connect(lambda _turn: self.continue_answer())
        view.approveRequested.connect(lambda call: self._decide(call, "run"))
        view.denyRequested.connect(lambda call: self._decide(call, "deny"))
        view.alwaysAllowRequested.connect(lambda call: self._decide(call, "always"))

    # ------------------------------------------------------------------------------------ opening

    @property
    def busy(self) -> bool:
        return self._busy

    def new_conversation(self) -> None:
        """An empty view; the conversation itself is created when the first message is sent."""
        self._close_session()
        self.conversation_id = None
        self._pending_python = False
        self._pending_mcp = set()
        self._clear_view()

    def _clear_view(self) -> None:
        """Forget the shown conversation: its widgets, their ids, the browser pages its citations use."""
        self.view.clear()
        self._items.clear()
        self._user_messages.clear()
        self._citations = CitationResolver()
        self._answer_streams.clear()

    def open_conversation(self, conversation_id: int) -> None:
        self._close_session()
        self.conversation_id = conversation_id
        self._clear_view()
        self.session = self.workspace.open_session(conversation_id, self._bridge.post, self.session_options)
        transcript = self.workspace.store.load_transcript(conversation_id)
        self._draw_history(transcript)
        self.view.scroll_to_bottom()

    def effort(self) -> ReasoningEffort:
        return self.workspace.effort(self.conversation_id)

    def set_effort(self, effort: str) -> None:
        self.workspace.set_effort(self.conversation_id, effort)

    # ------------------------------------------------------------------------------------ actions

    def ensure_session(self) -> ChatSession | None:
        """The open conversation's session, creating the conversation if it has none yet (None: the store
        refused, and the user was told)."""
        if self.session is None:
            try:
                conversation = self.workspace.new_conversation()
                self.session = self.workspace.open_session(conversation.id, self._bridge.post,
                                                          self.session_options)
            except StoreError as exc:
                self.notice.emit("error", str(exc))
                return None
            self.conversation_id = conversation.id
            if self._pending_python:
                self._store_python_switch(True)
            for server in sorted(self._pending_mcp):
                self._store_mcp_switch(server, True)
            self.conversationChanged.emit(conversation.id)
        return self.session

    def python_tool_enabled(self) -> bool:
        if self.conversation_id is None:
            return self._pending_python
        return self.workspace.conversation_settings(self.conversation_id).tools.python

    def set_python_tool(self, enabled: bool) -> None:
        """Let the model run python in this conversation (every call still waits for approval unless
        the user chose otherwise). Takes effect from the next turn."""
        if self.conversation_id is None:
            self._pending_python = enabled
            return
        try:
            self._store_python_switch(enabled)
        except StoreError as exc:
            self.notice.emit("error", str(exc))

    def mcp_servers_enabled(self) -> frozenset[str]:
        """The MCP servers the open conversation uses (Settings > Tools lists them all)."""
        if self.conversation_id is None:
            return frozenset(self._pending_mcp)
        return self.workspace.conversation_settings(self.conversation_id).tools.mcp

    def set_mcp_server(self, server: str, enabled: bool) -> None:
        """Let the model use an MCP server's tools in this conversation (each call still waits for
        approval). Takes effect from the next turn; the server starts in the background now."""
        if self.conversation_id is None:
            if enabled:
                self._pending_mcp.add(server)
            else:
                self._pending_mcp.discard(server)
            return
        try:
            self._store_mcp_switch(server, enabled)
        except StoreError as exc:
            self.notice.emit("error", str(exc))

    def _store_mcp_switch(self, server: str, enabled: bool) -> None:
        assert self.conversation_id is not None
        settings = self.workspace.conversation_settings(self.conversation_id).with_mcp_server(server, enabled)
        updated = self.workspace.change_settings(self.conversation_id, settings)
        if self.session is not None:
            self.session.tools = self.workspace.tool_session(updated)

    def _store_python_switch(self, enabled: bool) -> None:
        assert self.conversation_id is not None
        settings = self.workspace.conversation_settings(self.conversation_id).with_python(enabled)
        updated = self.workspace.change_settings(self.conversation_id, settings)
        if self.session is not None:
            # Rebuilt by the workspace, so the document browser stays on where the chat needs it.
            self.session.tools = self.workspace.tool_session(updated)

    def send(self, text: str, attachments: Sequence[NewAttachment] = ()) -> bool:
        """Send a message in the open conversation (creating it on the first message)."""
        if self.ensure_session() is None:
            return False
        assert self.session is not None
        try:
            turn_id = self.session.send(text, attachments)
        except OssianError as exc:  # busy, nothing to do, or the store refused: said as it is
            self.notice.emit("error", str(exc))
            return False
        stored = self.workspace.store.list_attachments(self.session.conversation_id)
        chips = [chip_for(a) for a in stored if a.message_id == self._user_message_id(turn_id)]
        self._add_turn(turn_id, text, chips)
        self.titlesChanged.emit()
        return True

    def stop(self) -> None:
        if self.session is not None:
            self.session.stop()

    def edit(self, turn_id: str, text: str) -> bool:
        """Send `text` in place of the user message of that turn; later turns are dropped."""
        if self.session is None or turn_id not in self._user_messages:
            return False
        try:
            self.session.edit_and_resend(self._user_messages[turn_id], text)
        except OssianError as exc:
            self.notice.emit("error", str(exc))
            return False
        message_id = self._user_messages[turn_id]
        chips = [chip_for(a) for a in self.workspace.store.list_attachments(self.session.conversation_id)
                 if a.message_id == message_id]
        self.view.remove_turns_from(turn_id)
        self._add_turn(int(turn_id), text, chips, user_message_id=message_id)
        return True

    def continue_answer(self) -> None:
        if self.session is None:
            return
        try:
            turn_id = self.session.continue_answer()
        except OssianError as exc:
            self.notice.emit("error", str(exc))
            return
        widget = self.view.turn(str(turn_id))
        if widget is not None:
            widget.assistant.clear()
            replies = turn_replies(self.workspace.store, self.session.conversation_id, turn_id)
            self._draw_assistant(widget, replies, live=True)
        self._set_busy(True)

    def user_text(self, turn_id: str) -> str:
        message_id = self._user_messages.get(turn_id)
        return self.workspace.store.get_message(message_id).content if message_id else ""

    def _regenerate(self, turn_id: str) -> None:
        if self.session is None:
            return
        last = self.view.turns()[-1].turn_id if self.view.turns() else None
        if turn_id != last:
            self.edit(turn_id, self.user_text(turn_id))  # an older turn: answer it again from there
            return
        try:
            self.session.regenerate()
        except OssianError as exc:
            self.notice.emit("error", str(exc))
            return
        widget = self.view.turn(turn_id)
        if widget is not None:
            widget.assistant.clear()

    def _decide(self, call_id: str, decision: str) -> None:
        if self.session is None:
            return
        self.session.tools.decide(call_id, decision)
        if decision == "always" and self.conversation_id is not None:
            allowed = self.session.tools.approvals.always_allowed
            settings = self.workspace.conversation_settings(self.conversation_id).with_always_allowed(allowed)
            self.workspace.change_settings(self.conversation_id, settings)

    def _open_link(self, url: QUrl) -> None:
        if url.scheme().lower() in SAFE_LINK_SCHEMES:
            QDesktopServices.openUrl(url)
        else:
            self.notice.emit("warning", f"Not opening {url.toString()}: only web links open from a chat.")

    # ------------------------------------------------------------------------------ live events

    def _on_event(self, event: object) -> None:
        if self._closed:
            return
        if isinstance(event, ev.TurnStarted):
            self._set_busy(True)
        elif isinstance(event, ev.ItemStarted):
            self._item_started(event)
        elif isinstance(event, ev.ItemDelta):
            self._item_delta(event)
        elif isinstance(event, ev.ItemFinished):
            self._item_finished(event)
        elif isinstance(event, ev.ToolCallChanged):
            self._tool_changed(event)
        elif isinstance(event, ev.TurnFinished):
            self._turn_finished(event)
        elif isinstance(event, ev.Notice):
            self.notice.emit(event.level, event.text)

    def _item_started(self, event: ev.ItemStarted) -> None:
        widget = self.view.turn(str(event.turn_id))
        if widget is None:
            return
        self._items[event.item_id] = (widget, event.kind)
        assistant = widget.assistant
        if event.kind == "reasoning":
            assistant.add_reasoning()
        elif event.kind == "preamble":
            assistant.add_preamble("")
        elif event.kind == "tool_call":
            name = event.recipient or "tool"
            assistant.add_tool_call(str(event.item_id), name, "", "pending",
                                    "python" if name == "python" else None)

    def _item_delta(self, event: ev.ItemDelta) -> None:
        found = self._items.get(event.item_id)
        if found is None:
            return
        widget, kind = found
        assistant = widget.assistant
        if kind == "reasoning":
            assistant.append_reasoning(event.text)
        elif kind == "preamble":
            assistant.append_preamble(event.text)
        elif kind == "tool_call":
            assistant.append_tool_arguments(str(event.item_id), event.text)
        else:
            stream = self._answer_streams.setdefault(event.item_id, CitationStream(self._citations))
            text = stream.feed(event.text)
            if text:
                assistant.append_answer(text)

    def _item_finished(self, event: ev.ItemFinished) -> None:
        found = self._items.get(event.item_id)
        if found is not None and found[1] == "reasoning":
            found[0].assistant.finish_reasoning(event.duration_s)
        self._finish_answer_stream(event.item_id)

    def _finish_answer_stream(self, item_id: int) -> None:
        """Show what an answer's stream still held back (an unclosed `【` at its very end)."""
        stream = self._answer_streams.pop(item_id, None)
        found = self._items.get(item_id)
        rest = stream.finish() if stream is not None else ""
        if rest and found is not None:
            found[0].assistant.append_answer(rest)

    def _tool_changed(self, event: ev.ToolCallChanged) -> None:
        if event.state == "done":
            self._citations.add_tool_output(event.tool_name, event.result)
        # Waiting for the user's approval can take minutes: nothing streams, so collect as usual.
        if event.state == "waiting_approval":
            self.collector.stream_finished()
        elif self._busy:
            self.collector.stream_started()
        found = self._items.get(event.call_id)
        if found is None:
            return
        found[0].assistant.update_tool_call(
            str(event.call_id), state=event.state, arguments=event.arguments or None,
            result=event.result if event.state.finished else None,
            duration=event.duration_s or None)

    def _turn_finished(self, event: ev.TurnFinished) -> None:
        for item_id in list(self._answer_streams):  # one turn runs at a time: these are its answers
            self._finish_answer_stream(item_id)
        widget = self.view.turn(str(event.turn_id))
        if widget is not None:
            replies = (turn_replies(self.workspace.store, self.conversation_id, event.turn_id)
                       if self.conversation_id is not None else [])
            self._show_outcome(widget, turn_outcome(replies, event.status, event.message))
        self._set_busy(False)
        self.turnFinished.emit(event)
        self.titlesChanged.emit()

    # ---------------------------------------------------------------------------------- history

    def _show_outcome(self, widget: TurnWidget, outcome: TurnOutcome) -> None:
        widget.assistant.finish(STATUS_VIEW[outcome.status], outcome.detail, outcome.last_text)

    def _draw_history(self, transcript: Transcript) -> None:
        recorded = {t.id: t.stats.finish_reason if t.stats else None for t in transcript.turns}
        attachments = transcript.attachments
        by_turn: dict[int | None, list[MessageRecord]] = {}
        for message in transcript.messages:
            by_turn.setdefault(message.turn_id, []).append(message)
        for turn_id, turn_messages in by_turn.items():
            user = next((m for m in turn_messages if m.role == "user"), None)
            if user is None or turn_id is None:
                continue
            chips = [chip_for(a) for a in attachments if a.message_id == user.id]
            widget = self._add_turn(turn_id, user.content, chips, user_message_id=user.id)
            replies = [m for m in turn_messages if m.role != "user"]
            self._draw_assistant(widget, replies, live=False)
            self._show_outcome(widget, turn_outcome(replies, recorded.get(turn_id)))

    def _draw_assistant(self, widget: TurnWidget, replies: Sequence[MessageRecord], live: bool) -> None:
        assistant = widget.assistant
        results = {m.id: m for m in replies if m.role == "tool"}
        for index, message in enumerate(replies):
            if message.role == "tool":
                continue
            kind = item_kind(message.role, message.channel, message.recipient)
            self._items[message.id] = (widget, kind)
            if kind == "reasoning":
                assistant.add_reasoning()
                assistant.append_reasoning(message.content)
                if not live or message.status != "streaming":
                    assistant.finish_reasoning(thinking_seconds(replies, index))
            elif kind == "preamble":
                assistant.add_preamble(message.content)
            elif kind == "tool_call":
                call = message.tool_call
                state = call.state if call is not None else ToolCallState.INTERRUPTED
                result = results.get(call.result_message_id) if call and call.result_message_id else None
                name = message.recipient or "tool"
                if result is not None and state is ToolCallState.DONE:
                    self._citations.add_tool_output(name, result.content)
                assistant.add_tool_call(str(message.id), name, message.content, state,
                                        "python" if name == "python" else None)
                assistant.update_tool_call(str(message.id), result=result.content if result else None,
                                           duration=call.duration_s if call else None)
            else:
                assistant.append_answer(self._citations.display(message.content))

    # ---------------------------------------------------------------------------------- helpers

    def _add_turn(self, turn_id: int, text: str, chips: Sequence[AttachmentChipData],
                  user_message_id: int | None = None) -> TurnWidget:
        widget = self.view.add_turn(str(turn_id), text, chips)
        message_id = user_message_id or self._user_message_id(turn_id)
        if message_id is not None:
            self._user_messages[str(turn_id)] = message_id
        return widget

    def _user_message_id(self, turn_id: int) -> int | None:
        if self.session is None:
            return None
        for message in self.workspace.store.list_messages(self.session.conversation_id):
            if message.turn_id == turn_id and message.role == "user":
                return message.id
        return None

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit(busy)

    def _close_session(self) -> None:
        if self.session is not None:
            self.session.stop()
            self.session.wait(5)
        self.session = None
        self._set_busy(False)

    def close(self) -> None:
        self._close_session()
        self._closed = True
