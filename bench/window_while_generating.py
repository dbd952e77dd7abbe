"""Benchmark: how smooth the window stays while the model generates on the CPU, with all cores or one left.

The worker takes llama.cpp threads; the window's GUI thread needs a CPU for every frame. On a machine
with few cores, llama.cpp on every physical core leaves the GUI thread waiting for one. This runs the
streaming-UI measurement of `bench/ui_stream.py` (the real ChatView, a scripted 500 tokens/s answer,
a 4 ms heartbeat) three times, side by side:

- quiet: no model generating (the baseline);
- all cores: the 20b shape twin generating in the worker with n_threads = physical cores;
- one left: the same with n_threads = physical cores - 1;

and prints per run the longest event-loop stall (budget 50 ms), how much of it the GUI thread waited for
a CPU, and the worker's generation speed (tokens/s) during the stream, with ratios against the first.

    flock /tmp/ossian-heavy.lock .venv/bin/python bench/window_while_generating.py [--tokens N] [--tiny]

`--tiny` uses the tiny model instead of the twin (a quick check of the bench itself).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

from app.engine.client import WorkerEngine
from app.engine.interface import GenerateRequest, LoadPlan, SamplingSettings, TokenEvent
from app.engine.testing import ToyVocabulary
from app.engine.worker_load import physical_cores
from app.harmony import SYSTEM, USER, Message, SystemContent, render_conversation
from bench.ui_stream import HEARTBEAT_MS, long_answer, run_view

NO_STOPS = ("<|return|>", "<|call|>", "<|endoftext|>")


@dataclass
class Run:
    name: str
    stall_ms: float
    waited_ms: float
    tokens_per_second: float | None


class Background:
    """An endless generation in the worker, counted from the moment the stream starts."""

    def __init__(self, engine: WorkerEngine) -> None:
        prompt = render_conversation([Message(SYSTEM, SystemContent(conversation_start_date="2025-01-01")),
                                      Message(USER, "Write a very long story.")])
        request = GenerateRequest(tuple(prompt), SamplingSettings(seed=1, max_tokens=1_000_000,
                                                                  suppress_specials=NO_STOPS))
        self.generation = engine.generate(request)
        self.count = 0
        self.first = threading.Event()
        self.marks: list[tuple[float, int]] = []
        self.thread = threading.Thread(target=self._consume, daemon=True)
        self.thread.start()

    def _consume(self) -> None:
        for event in self.generation:
            if isinstance(event, TokenEvent):
                self.count += 1
                self.first.set()
            else:
                break

    def mark(self) -> None:
        self.marks.append((time.perf_counter(), self.count))

    def rate(self) -> float:
        (start, before), (end, after) = self.marks[-2], self.marks[-1]
        return (after - before) / (end - start)

    def stop(self) -> None:
        self.generation.cancel()
        self.thread.join(timeout=30)


def measure(name: str, tokens, engine: WorkerEngine | None) -> Run:
    background = None
    if engine is not None:
        background = Background(engine)
        if not background.first.wait(timeout=600):
            raise SystemExit("the model produced no token in 10 minutes")
        time.sleep(2.0)  # past the prompt and into steady generation
        background.mark()
    measured = run_view(tokens, 500.0, None)
    rate = None
    if background is not None:
        background.mark()
        rate = background.rate()
        background.stop()
    stall = measured.max_gap * 1000 - HEARTBEAT_MS
    return Run(name, stall, stall - measured.max_gap_cpu * 1000, rate)


def model_path(tiny: bool) -> Path:
    if tiny:
        from fixtures.tiny_models import tiny_gpt_oss_model

        return tiny_gpt_oss_model()
    from fixtures.shape_twins import shape_twin_20b

    return shape_twin_20b()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=5_000, help="tokens of the scripted stream")
    parser.add_argument("--tiny", action="store_true", help="the tiny model instead of the 20b twin")
    args = parser.parse_args()
    QApplication.instance() or QApplication([])
    tokens = tuple(ToyVocabulary().text_tokens(long_answer(args.tokens)))[: args.tokens]
    cores = physical_cores()
    path = model_path(args.tiny)
    print(f"stream: {len(tokens):,} tokens at 500/s; model {path.name}; {cores} physical cores, "
          f"{os.cpu_count()} logical; CPU plan (devices=())")
    runs = [measure("quiet (no model generating)", tokens, None)]
    for threads in sorted({cores, max(1, cores - 1)}, reverse=True):
        engine = WorkerEngine()
        try:
            engine.load(LoadPlan(str(path), n_ctx=4096, n_threads=threads, devices=())).result(timeout=900)
            label = "all cores" if threads == cores else "one core left for the window"
            runs.append(measure(f"{label} (n_threads={threads})", tokens, engine))
        finally:
            engine.close()
    base = runs[1].tokens_per_second if len(runs) > 1 else None
    print(f"{'run':<42} {'longest stall':>14} {'of it waiting':>14} {'model tok/s':>12} {'ratio':>7}")
    for run in runs:
        rate = f"{run.tokens_per_second:.2f}" if run.tokens_per_second else "-"
        ratio = f"{run.tokens_per_second / base:.2f}" if run.tokens_per_second and base else "-"
        print(f"{run.name:<42} {run.stall_ms:>11.1f} ms {run.waited_ms:>11.1f} ms {rate:>12} {ratio:>7}")
    print("budget: longest stall under 50 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
