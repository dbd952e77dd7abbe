"""Benchmark of Ossian's own API: `ossian serve` with the `openai` client against the window's pipeline.

The same model, plan (the planner's, with the same threads and context), prompt, seed and grammar go
through two paths, in alternating rounds so that a busy machine slows both alike:

- the window's: `ChatSession` -> `TurnRunner` (a real SQLite store, chat events) -> `WorkerEngine`, timed
  at the listener, as the window's controller hears it;
- the API's: `ossian serve` (its own worker) -> uvicorn -> Starlette -> SSE -> the official `openai`
  SDK streaming `chat.completions` with `include_usage`, timed where the SDK yields each chunk.

Time to first token: from the request (`send()`, `create()`) to the first text delta. Tokens per second:
the generated tokens over the time from the first delta to the last. Random weights write random text, so a
grammar keeps the reply inside one analysis message (`[a-z ]+`): every token is a delta on both paths, and
no end token is sampled (`NO_STOPS`; llama-server's `ignore_eos` on the API), so `max_tokens` makes every
round the same length. The verdict is on the median of the paired rounds' ratios
(API / window). Target: at least 0.95.

    flock /tmp/ossian-heavy.lock .venv/bin/python bench/api_overhead.py [--model PATH] [--tokens N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import openai

from app.chat.events import ChatEvent, ItemDelta, TurnFinished
from app.chat.session import ChatSession, SessionOptions
from app.chat.turn import TurnOptions
from app.engine.client import WorkerEngine
from app.engine.interface import SamplingSettings
from app.gguf import read_profile
from app.planner import PlanRequest, detect_machine, make_plan
from app.store import open_store

TARGET_RATIO = 0.95
GRAMMAR = 'root ::= <|channel|> "analysis" <|message|> [a-z ]+'
QUESTION = "Tell me a long story about the sea."
SEED = 11
NO_STOPS = ("<|return|>", "<|call|>", "<|endoftext|>")


@dataclass(frozen=True)
class Round:
    first_token_s: float
    tokens: int
    stream_s: float  # first delta to last

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.stream_s if self.stream_s > 0 else 0.0


class WindowPath:
    """The window's pipeline on its own engine: one new conversation per round, the listener timing it."""

    def __init__(self, model: Path, n_ctx: int, threads: int, tokens: int, folder: Path) -> None:
        plan = make_plan(read_profile(model), detect_machine(), PlanRequest(n_ctx=n_ctx))
        self.engine = WorkerEngine()
        started = time.perf_counter()
        self.engine.load(replace(plan.load, n_threads=threads)).result()
        self.load_s = time.perf_counter() - started
        self.store = open_store(folder / "conversations.sqlite3")
        self.options = SessionOptions(turn=TurnOptions(
            sampling=SamplingSettings(seed=SEED, max_tokens=tokens, suppress_specials=NO_STOPS),
            grammar=GRAMMAR))

    def round(self) -> Round:
        first: list[float] = []
        last: list[float] = []
        finished = threading.Event()
        stats: list[TurnFinished] = []

        def listen(event: ChatEvent) -> None:
            if isinstance(event, ItemDelta):
                now = time.perf_counter()
                if not first:
                    first.append(now)
                last[:] = [now]
            elif isinstance(event, TurnFinished):
                stats.append(event)
                finished.set()

        conversation = self.store.create_conversation(model="bench")
        session = ChatSession(store=self.store, engine=self.engine, conversation_id=conversation.id,
                              listener=listen, options=self.options)
        started = time.perf_counter()
        session.send(QUESTION)
        finished.wait(600)
        session.wait(30)
        return Round(first[0] - started, stats[0].stats.generated_tokens, last[0] - first[0])

    def close(self) -> None:
        self.engine.close()
        self.store.close()


class ApiPath:
    """`ossian serve` in its own process, asked through the `openai` SDK."""

    def __init__(self, model: Path, n_ctx: int, threads: int, tokens: int) -> None:
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--model", str(model), "--port", "0", "--ctx", str(n_ctx),
             "--threads", str(threads)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.process.stdout.readline().split()
        if len(line) != 4 or line[0] != "serving":
            raise SystemExit(f"ossian serve did not start: {line}")
        self.load_s = time.perf_counter() - started
        self.client = openai.OpenAI(base_url=line[1], api_key=line[3], max_retries=0, timeout=600)
        self.tokens = tokens

    def round(self) -> Round:
        first = last = 0.0
        tokens = 0
        started = time.perf_counter()
        stream = self.client.chat.completions.create(
            model="bench", messages=[{"role": "user", "content": QUESTION}], stream=True,
            stream_options={"include_usage": True}, max_tokens=self.tokens, seed=SEED,
            extra_body={"grammar": GRAMMAR, "ignore_eos": True})
        for chunk in stream:
            if chunk.usage is not None:
                tokens = chunk.usage.completion_tokens
            if not chunk.choices:
                continue
            delta = chunk.choices[0].delta
            if delta.content or (delta.model_extra or {}).get("reasoning_content"):
                last = time.perf_counter()
                first = first or last
        return Round(first - started, tokens, last - first)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(30)
        self.process.stdout.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a gpt-oss GGUF (default: the tiny test model)")
    parser.add_argument("--tokens", type=int, default=1500, help="tokens per round (default 1500)")
    parser.add_argument("--rounds", type=int, default=9, help="rounds of each path (default 9)")
    parser.add_argument("--ctx", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.model is None:
        from fixtures.tiny_models import tiny_gpt_oss_model

        args.model = tiny_gpt_oss_model()

    with tempfile.TemporaryDirectory(prefix="ossian-bench-api-") as home:
        os.environ["OSSIAN_HOME"] = home  # the window's store and the server's logs stay out of the user's
        window = WindowPath(args.model, args.ctx, args.threads, args.tokens, Path(home))
        api = ApiPath(args.model, args.ctx, args.threads, args.tokens)
        try:
            window.round(), api.round()  # warm-up: both caches hold the prompt from now on
            pairs = [(window.round(), api.round()) for _ in range(args.rounds)]
        finally:
            api.close()
            window.close()

    print(f"api overhead: {args.model.name}, {args.threads} thread(s), n_ctx {args.ctx:,}, {args.tokens:,} "
          f"tokens per round, {args.rounds} rounds of each, alternating (load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"window engine loaded in {window.load_s:.1f} s; ossian serve printed its first line after "
          f"{api.load_s:.1f} s")
    print(f"{'':38}{'best':>9}{'median':>10}   rounds")
    _row("window: session + turn loop + store", [w.tokens_per_second for w, _ in pairs], "tokens/s")
    _row("api: serve + SSE + openai SDK", [a.tokens_per_second for _, a in pairs], "tokens/s")
    ratios = [a.tokens_per_second / w.tokens_per_second for w, a in pairs]
    median_ratio = statistics.median(ratios)
    verdict = "meets" if median_ratio >= TARGET_RATIO else "misses"
    print(f"{'ratio api / window':38}{max(ratios):>9.3f}{median_ratio:>10.3f}   (median of the paired "
          f"rounds' ratios, which {verdict} the target of >= {TARGET_RATIO})")
    _row("window: first token (ms)", [w.first_token_s * 1000 for w, _ in pairs], "ms", best=min)
    _row("api: first token (ms)", [a.first_token_s * 1000 for _, a in pairs], "ms", best=min)
    extra_ms = statistics.median(a.first_token_s - w.first_token_s for w, a in pairs) * 1000
    per_token_us = statistics.median(1 / a.tokens_per_second - 1 / w.tokens_per_second
                                     for w, a in pairs) * 1e6
    tokens = {(w.tokens, a.tokens) for w, a in pairs}
    print(f"the API's extra time to first token (median of the pairs): {extra_ms:+.1f} ms; its cost per "
          f"token: {per_token_us:+.1f} us; tokens per round (window, api): {sorted(tokens)}")
    return 0


def _row(label: str, values: list[float], unit: str, best=max) -> None:
    shown = " ".join(f"{v:,.1f}" for v in values)
    print(f"{label:38}{best(values):>9,.1f}{statistics.median(values):>10,.1f}   {shown}")


if __name__ == "__main__":
    sys.exit(main())
