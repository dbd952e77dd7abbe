"""Benchmark of the streaming message view: does rendering stay flat as an answer grows?

A scripted engine generates a 20,000-token Markdown answer (prose, lists, code, tables, quotes) at 500
tokens per second on a worker thread; each token crosses to the GUI thread through a queued Qt signal,
as in the app, into the real ChatView (shown, on the offscreen platform unless QT_QPA_PLATFORM says
otherwise). Printed:

- GUI-thread CPU per token (everything the window did: signal delivery, parsing, widgets, layout,
  paint) over the first and the last 1,000 tokens, and their ratio (target at most 1.5);
- the same for the frame clock's flushes alone (Markdown parse and widget updates);
- the longest stall of the event loop, from a 4 ms heartbeat timer (target under 50 ms), and how much
  of it the GUI thread ran (on a loaded machine the rest is the OS giving the CPU to others);
- GUI-thread CPU as a share of the stream's time.

With --naive N, the same stream's first N tokens also go through the way LM Studio and Jan render
(the whole Markdown parsed and set again on every frame, coalesced like ours), for comparison.

    flock /tmp/ossian-heavy.lock .venv/bin/python bench/ui_stream.py [--tokens N] [--rate R] [--naive N]
        [--frame-ms MS] [--no-gc-freeze] [--default-switch-interval] [--full-gc-mid-stream]

The last three undo what the app does to keep the stream smooth, for comparison.
"""

from __future__ import annotations

import argparse
import codecs
import gc
import os
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QLabel

from app.engine.interface import Done, GenerateRequest, LoadPlan, TokenEvent
from app.engine.testing import ScriptedEngine, ScriptedReply, ToyVocabulary, split_text
from app.ui.gc_policy import StreamingCollector
from app.ui.launch import GUI_SWITCH_INTERVAL_S
from app.ui.messages import ChatView
from app.ui.render.highlight import CodeHighlighter
from app.ui.render.markdown import MarkdownRenderer
from app.ui.theme import theme_for

WINDOW = 1_000  # tokens in the first and the last measured window
HEARTBEAT_MS = 4
TARGET_RATIO = 1.5
TARGET_STALL_MS = 50

WORDS = [
    "model", "context", "token", "memory", "layer", "cache", "prompt", "answer", "reason", "window",
    "thread", "engine", "parser", "stream", "render", "widget", "block", "table", "list", "code",
    "value", "system", "local", "network", "file", "format", "result", "change", "user", "quick",
    "steady", "simple", "careful", "clear", "small", "large", "first", "last", "every", "other",
    "often", "rarely", "always",
]
CODE_SAMPLES = {
    "python": [
        "def {name}(items: list[int], limit: int = {n}) -> list[int]:",
        '    """Keep the values under the limit, in order."""',
        "    kept = []",
        "    for item in items:",
        "        if item < limit:  # strict: the limit itself is out",
        "            kept.append(item * {n})",
        "    return kept",
        "",
        "print({name}([1, 2, 3, {n}], limit={n}))",
    ],
    "javascript": [
        "export async function {name}(url, retries = {n}) {{",
        "  for (let attempt = 0; attempt < retries; attempt++) {{",
        "    const response = await fetch(url);",
        "    if (response.ok) return response.json();",
        "    await new Promise((r) => setTimeout(r, 100 * attempt));",
        "  }}",
        '  throw new Error(`gave up on ${{url}}`);',
        "}}",
    ],
    "bash": [
        "#!/usr/bin/env bash",
        "set -euo pipefail",
        'for file in data/*.csv; do',
        '  echo "processing $file ({n})"',
        '  wc -l "$file" | tee -a {name}.log',
        "done",
    ],
}


def words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(count))


def sentence(rng: random.Random) -> str:
    text = words(rng, rng.randint(8, 18))
    flourish = rng.random()
    if flourish < 0.2:
        text += f" with `{rng.choice(WORDS)}_{rng.randint(1, 99)}`"
    elif flourish < 0.35:
        text += f" and **{words(rng, 2)}**"
    elif flourish < 0.45:
        text += f" (see [the {rng.choice(WORDS)} notes](https://example.com/{rng.choice(WORDS)}))"
    return text[0].upper() + text[1:] + "."


def section(rng: random.Random, number: int) -> str:
    """One part of the answer: heading, prose, a list, code, a table, sometimes a quote."""
    parts = [f"## Part {number}: {words(rng, 3)}"]
    for _ in range(rng.randint(1, 3)):
        parts.append(" ".join(sentence(rng) for _ in range(rng.randint(2, 5))))
    marker = "1." if rng.random() < 0.4 else "-"
    parts.append("\n".join(f"{marker} {sentence(rng)}" for _ in range(rng.randint(3, 6))))
    parts.append(" ".join(sentence(rng) for _ in range(2)))
    language = rng.choice(list(CODE_SAMPLES))
    lines = [line.format(name=f"{rng.choice(WORDS)}_{number}", n=rng.randint(2, 99))
             for line in CODE_SAMPLES[language]]
    parts.append(f"```{language}\n" + "\n".join(lines * rng.randint(1, 3)) + "\n```")
    columns = rng.randint(3, 4)
    header = "| " + " | ".join(rng.choice(WORDS).title() for _ in range(columns)) + " |"
    rows = [header, "|" + "---|" * columns]
    rows += ["| " + " | ".join(words(rng, rng.randint(1, 3)) for _ in range(columns)) + " |"
             for _ in range(rng.randint(3, 7))]
    parts.append("\n".join(rows))
    if rng.random() < 0.3:
        parts.append("> " + sentence(rng))
    return "\n\n".join(parts) + "\n\n"


def long_answer(tokens: int, seed: int = 7) -> str:
    """Markdown of at least `tokens` tokens (the scripted engine's tokenizer), deterministic."""
    rng = random.Random(seed)
    chunks: list[str] = ["# A long answer\n\n"]
    count = 0
    while count < tokens:
        chunks.append(section(rng, len(chunks)))
        count += len(split_text(chunks[-1]))
    return "".join(chunks)


class TokenBridge(QObject):
    """Lives on the GUI thread; the engine thread emits, Qt queues (the app's path from the engine)."""

    delta = Signal(str)
    finished = Signal()


@dataclass
class Measurements:
    tokens: int
    received: int = 0
    cpu_marks: dict[int, float] = field(default_factory=dict)  # token count -> GUI thread CPU time
    frames: list[tuple[int, float]] = field(default_factory=list)  # (tokens so far, flush seconds)
    max_gap: float = 0.0
    max_gap_cpu: float = 0.0  # of the longest gap, how long the GUI thread actually ran
    stream_seconds: float = 0.0
    stream_cpu: float = 0.0

    def marks(self) -> tuple[int, ...]:
        return (1, WINDOW + 1, self.tokens - WINDOW + 1, self.tokens)


def stream_through(view_slot, tokens: tuple[TokenEvent, ...], rate: float, frames_signal) -> Measurements:
    """Run one stream: engine thread -> queued signal -> view_slot; measure on the GUI thread."""
    engine = ScriptedEngine([ScriptedReply(tokens)], tokens_per_second=rate)
    engine.load(LoadPlan("scripted.gguf")).result()
    generation = engine.generate(GenerateRequest(segments=()))
    measured = Measurements(len(tokens))
    marks = set(measured.marks())
    bridge = TokenBridge()
    loop = QEventLoop()

    def on_delta(text: str) -> None:
        measured.received += 1
        view_slot(text)
        if measured.received in marks:
            measured.cpu_marks[measured.received] = time.thread_time()

    def on_frame(seconds: float) -> None:
        measured.frames.append((measured.received, seconds))

    last_beat = [0.0, 0.0]  # wall clock, GUI thread CPU

    def on_beat() -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        if now - last_beat[0] > measured.max_gap:
            measured.max_gap, measured.max_gap_cpu = now - last_beat[0], cpu - last_beat[1]
        last_beat[0], last_beat[1] = now, cpu

    def produce() -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        for event in generation:
            if isinstance(event, TokenEvent):
                bridge.delta.emit(decoder.decode(event.piece))
            elif isinstance(event, Done):
                break
        bridge.finished.emit()

    bridge.delta.connect(on_delta, Qt.ConnectionType.QueuedConnection)
    # The last token's frame and paint come within a few frames of the end of the stream.
    bridge.finished.connect(lambda: QTimer.singleShot(250, loop.quit), Qt.ConnectionType.QueuedConnection)
    if frames_signal is not None:
        frames_signal.connect(on_frame)
    heartbeat = QTimer()
    heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
    heartbeat.setInterval(HEARTBEAT_MS)
    heartbeat.timeout.connect(on_beat)
    heartbeat.start()
    cpu_start, wall_start = time.thread_time(), time.perf_counter()
    last_beat[0], last_beat[1] = wall_start, cpu_start
    threading.Thread(target=produce, daemon=True).start()
    loop.exec()
    measured.stream_seconds = time.perf_counter() - wall_start
    measured.stream_cpu = time.thread_time() - cpu_start
    heartbeat.stop()
    if frames_signal is not None:
        frames_signal.disconnect(on_frame)
    return measured


def settle(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def window_cpu(measured: Measurements, first: int, last: int) -> float:
    return (measured.cpu_marks[last] - measured.cpu_marks[first]) / (last - first)


def flush_cpu(measured: Measurements, low: int, high: int) -> float:
    return sum(seconds for count, seconds in measured.frames if low < count <= high) / (high - low)


def run_view(tokens: tuple[TokenEvent, ...], rate: float, frame_ms: int | None,
             defer_full_gc: bool = True) -> Measurements:
    view = ChatView(theme_for("light"), frame_interval_ms=frame_ms)
    view.resize(1100, 800)
    view.show()
    turn = view.add_turn("bench", "Write a long guide with lists, code and tables.")
    settle(500)  # the window's first show, polish and paint are start-up, not streaming
    collector = StreamingCollector()
    if defer_full_gc:
        collector.stream_started()  # as the chat controller does while a turn runs
    measured = stream_through(turn.assistant.append_answer, tokens, rate, view.context.frames.frameRendered)
    collector.stream_finished()
    turn.assistant.finish()
    view.close()
    return measured


class NaiveView(QLabel):
    """Peers' way: the whole Markdown parsed and set on one label each frame (coalesced like ours)."""

    def __init__(self) -> None:
        super().__init__()
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self._renderer = MarkdownRenderer(CodeHighlighter("default"))
        self._text: list[str] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._render)

    def append(self, text: str) -> None:
        self._text.append(text)
        if not self._timer.isActive():
            self._timer.start(16)

    def _render(self) -> None:
        self.setText(self._renderer.render("".join(self._text)))


def run_naive(tokens: tuple[TokenEvent, ...], rate: float) -> Measurements:
    view = NaiveView()
    view.resize(1000, 800)
    view.show()
    settle(500)
    measured = stream_through(view.append, tokens, rate, None)
    view.close()
    return measured


def report(name: str, measured: Measurements, with_flush: bool) -> float:
    n = measured.tokens
    first = window_cpu(measured, 1, WINDOW + 1)
    last = window_cpu(measured, n - WINDOW + 1, n)
    ratio = last / first
    print(f"{name}: {n:,} tokens in {measured.stream_seconds:.1f} s")
    print(f"  GUI-thread CPU per token, first {WINDOW:,}: {first * 1000:.3f} ms")
    print(f"  GUI-thread CPU per token, last {WINDOW:,}:  {last * 1000:.3f} ms")
    print(f"  ratio last/first: {ratio:.2f} (target <= {TARGET_RATIO})")
    if with_flush:
        flush_first = flush_cpu(measured, 0, WINDOW)
        flush_last = flush_cpu(measured, n - WINDOW, n)
        print(f"  render (frame flush) time per token, first/last {WINDOW:,}: {flush_first * 1000:.3f} ms / "
              f"{flush_last * 1000:.3f} ms, ratio {flush_last / flush_first:.2f}; "
              f"{len(measured.frames):,} frames")
    stall = (measured.max_gap * 1000) - HEARTBEAT_MS
    print(f"  longest event-loop stall: {stall:.1f} ms (target < {TARGET_STALL_MS} ms); the GUI thread ran "
          f"{measured.max_gap_cpu * 1000:.1f} ms of it, the rest it waited for a CPU")
    print(f"  GUI-thread CPU: {measured.stream_cpu:.2f} s of {measured.stream_seconds:.1f} s stream "
          f"({measured.stream_cpu / measured.stream_seconds:.1%})")
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=500.0, help="tokens per second")
    parser.add_argument("--naive", type=int, default=0, help="also stream this many tokens the naive way")
    parser.add_argument("--frame-ms", type=int, default=None, help="frame interval (default: the view's)")
    parser.add_argument("--no-gc-freeze", dest="gc_freeze", action="store_false",
                        help="skip the gc.freeze() the app does after start-up (app/ui/launch.py)")
    parser.add_argument("--full-gc-mid-stream", dest="defer_full_gc", action="store_false",
                        help="let full collections run during the stream (the app defers them)")
    parser.add_argument("--default-switch-interval", dest="app_switch_interval", action="store_false",
                        help="keep Python's 5 ms GIL switch interval instead of the app's")
    args = parser.parse_args()
    QApplication.instance() or QApplication([])
    vocabulary = ToyVocabulary()
    tokens = tuple(vocabulary.text_tokens(long_answer(args.tokens)))[: args.tokens]
    print(f"stream: {len(tokens):,} tokens, {sum(len(t.piece) for t in tokens):,} bytes of Markdown, "
          f"{args.rate:.0f} tokens/s, platform {QApplication.platformName()}")
    if args.app_switch_interval:
        sys.setswitchinterval(GUI_SWITCH_INTERVAL_S)  # as app/ui/launch.py does
    if args.gc_freeze:
        # As the app does after start-up: those objects move to a permanent generation, and no full
        # collection walks them mid-stream (one ~20 ms pause less).
        gc.freeze()
    measured = run_view(tokens, args.rate, args.frame_ms, args.defer_full_gc)
    ratio = report("ChatView", measured, with_flush=True)
    stall_ok = (measured.max_gap * 1000) - HEARTBEAT_MS < TARGET_STALL_MS
    if args.naive:
        naive = run_naive(tokens[: args.naive], args.rate)
        report("naive re-render (for comparison)", naive, with_flush=False)
    return 0 if ratio <= TARGET_RATIO and stall_ok else 1


if __name__ == "__main__":
    sys.exit(main())
