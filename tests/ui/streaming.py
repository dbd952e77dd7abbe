"""Drive widgets the way the app does: a scripted engine on a worker thread, deltas over a queued signal."""

from __future__ import annotations

import codecs
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal

from app.engine.interface import Done, GenerateRequest, LoadPlan, TokenEvent
from app.engine.testing import ScriptedEngine, ScriptedReply, text_reply


class DeltaBridge(QObject):
    """Created on the GUI thread; emitted from the engine thread, so Qt queues every delta."""

    delta = Signal(str)
    finished = Signal()


def stream_text(qtbot, slot: Callable[[str], None], text: str, tokens_per_second: float = 5_000) -> int:
    """Stream text through the scripted engine into slot; returns how many deltas arrived."""
    return stream_reply(qtbot, slot, text_reply(text), tokens_per_second)


def stream_reply(qtbot, slot: Callable[[str], None], reply: ScriptedReply,
                 tokens_per_second: float = 5_000) -> int:
    engine = ScriptedEngine([reply], tokens_per_second=tokens_per_second)
    engine.load(LoadPlan("scripted.gguf")).result()
    generation = engine.generate(GenerateRequest(segments=()))
    bridge = DeltaBridge()
    received = []
    gui_thread = threading.current_thread()

    def deliver(text: str) -> None:
        assert threading.current_thread() is gui_thread, "deltas must arrive on the GUI thread"
        received.append(text)
        slot(text)

    def produce() -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        for event in generation:
            if isinstance(event, TokenEvent):
                text = decoder.decode(event.piece)
                if text:
                    bridge.delta.emit(text)
            elif isinstance(event, Done):
                break
        bridge.finished.emit()

    bridge.delta.connect(deliver, Qt.ConnectionType.QueuedConnection)
    with qtbot.waitSignal(bridge.finished, timeout=30_000):
        threading.Thread(target=produce, daemon=True).start()
    return len(received)
