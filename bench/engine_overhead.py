"""Benchmark of the engine: what the app's pipeline costs against raw llama-cpp-python, side by side.

1. Generation speed. The same model, prompt and settings (n_ctx, threads, flash attention, swa_full=False,
   temperature 1.0, top_p 1.0) run through the whole app pipeline (WorkerEngine -> worker process ->
   pipe -> the consumer's thread -> Harmony StreamParser) and through a raw `Llama.generate` loop in this
   process that takes each token's piece, in alternating rounds so that a busy machine slows both alike
   (the verdict is on the median of the paired rounds' ratios). Tokens per second are counted from the
   first token to the last, so prompt evaluation is left out. Target: app / raw >= 0.97. Big models run
   all raw rounds first, then the app's: each pipeline holds its own repacked copy of the expert weights
   (10 GB for 20b), so not both at once.
2. Time to first token of a follow-up question after a long conversation (50,000 tokens by default),
   with the cache holding the conversation (prefix reuse) and after a reload (no reuse).
3. Cancel latency: from `cancel()` during a long prompt evaluation to the generation's end.

    flock /tmp/ossian-heavy.lock .venv/bin/python bench/engine_overhead.py [--model tiny|20b|PATH]

`--model 20b` uses the sparse 20b shape twin (fixtures/shape_twins.py): 12 GB of page cache and
minutes per round on a CPU, so it is opt-in and skips the long-conversation part unless
`--conversation-tokens` is given.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.engine.client import WorkerEngine
from app.engine.interface import Done, GenerateRequest, LoadPlan, SamplingSettings, TokenEvent
from app.engine.worker_load import physical_cores
from app.harmony import (
    ASSISTANT,
    FINAL,
    SYSTEM,
    USER,
    Message,
    StreamParser,
    SystemContent,
    render_conversation,
    segments_to_text,
)
from app.harmony.segments import Text

NO_STOPS = ("<|return|>", "<|call|>", "<|endoftext|>")  # random weights: never stop before the count
TARGET_RATIO = 0.97
QUESTION = "Summarize what we said about the weather, and say what to pack for tomorrow."


@dataclass(frozen=True)
class Setup:
    name: str
    path: Path
    threads: int
    tokens: int
    rounds: int
    conversation_tokens: int
    speed_ctx: int  # context of the generation-speed part
    long_ctx: int  # context of the long-conversation and cancel parts
    alternate: bool  # both pipelines loaded at once, rounds alternating (small models only: on a CPU
    # each pipeline keeps its own repacked copy of the expert weights, 10 GB for 20b)

    def plan(self, n_ctx: int) -> LoadPlan:
        return LoadPlan(str(self.path), n_ctx=n_ctx, n_threads=self.threads, flash_attn=True, swa_full=False)


def main() -> int:
    setup = make_setup(parse_args())
    print(f"engine overhead: {setup.name} ({setup.path.name}), {setup.threads} thread(s), flash attention "
          f"on, swa_full off, temperature 1.0, top_p 1.0")
    engine = WorkerEngine()
    try:
        generation_speed(engine, setup)
        long_plan = setup.plan(setup.long_ctx)
        engine.load(long_plan).result()
        if setup.conversation_tokens:
            follow_up(engine, long_plan, setup)
        cancel_latency(engine, setup)
    finally:
        engine.close()
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="tiny", help="tiny, 20b, or the path of a gpt-oss GGUF")
    parser.add_argument("--tokens", type=int, help="tokens generated per round")
    parser.add_argument("--rounds", type=int, help="rounds of each pipeline")
    parser.add_argument("--threads", type=int, help="llama.cpp threads (default: 1 for tiny, else cores)")
    parser.add_argument("--conversation-tokens", type=int, help="size of the long conversation (0: skip)")
    parser.add_argument("--n-ctx", type=int, default=4096, help="context of the speed part (default 4096)")
    return parser.parse_args()


def make_setup(args: argparse.Namespace) -> Setup:
    tiny = args.model == "tiny"
    if tiny:
        from fixtures.tiny_models import tiny_gpt_oss_model

        name, path, defaults = "tiny gpt-oss", tiny_gpt_oss_model(), (3000, 15, 1, 50_000)
    else:
        if args.model == "20b":
            from fixtures.shape_twins import shape_twin_20b

            name, path = "gpt-oss-20b shape twin", shape_twin_20b()
        else:
            name, path = "model", Path(args.model)
        defaults = (48, 3, physical_cores(), 0)
    tokens, rounds, threads, conversation = defaults
    conversation = conversation if args.conversation_tokens is None else args.conversation_tokens
    # room for the conversation, and on the tiny model for a prompt that takes seconds to evaluate
    long_ctx = max(32768 if tiny else 4096, conversation + 4096)
    return Setup(name, path, args.threads or threads, args.tokens or tokens, args.rounds or rounds,
                 conversation, speed_ctx=args.n_ctx, long_ctx=long_ctx, alternate=tiny)


# 1. generation speed


def prompt_segments() -> tuple:
    messages = [Message(SYSTEM, SystemContent(conversation_start_date="2025-06-01")),
                Message(USER, "Tell me a long story about the north wind and the sun.")]
    return tuple(render_conversation(messages))


def app_round(engine: WorkerEngine, segments: tuple, count: int, seed: int) -> float:
    info = engine.model
    assert info is not None
    parser = StreamParser(info.special_ids)
    request = GenerateRequest(segments, SamplingSettings(seed=seed, max_tokens=count,
                                                         suppress_specials=NO_STOPS))
    first = last = 0.0
    received = 0
    for event in engine.generate(request):
        if isinstance(event, TokenEvent):
            parser.feed(event.id, event.piece)
            last = time.perf_counter()
            received += 1
            if received == 1:
                first = last
        elif not isinstance(event, Done):
            raise SystemExit(f"the app pipeline failed: {event.message}")
    assert received == count, received
    return (count - 1) / (last - first)


def raw_round(llama, prompt_ids: list[int], count: int, seed: int) -> float:
    llama.set_seed(seed)
    llama.reset()  # evaluate the prompt again, as the app does after its rewind
    first = last = 0.0
    for index, token in enumerate(llama.generate(prompt_ids, top_k=0, top_p=1.0, min_p=0.0, temp=1.0,
                                                 repeat_penalty=1.0)):
        llama.detokenize([token], special=True)  # the piece, as the app sends it
        last = time.perf_counter()
        if index == 0:
            first = last
        if index + 1 == count:
            break
    return (count - 1) / (last - first)


def generation_speed(engine: WorkerEngine, setup: Setup) -> None:
    from llama_cpp import Llama  # the baseline: llama-cpp-python as an app would use it directly

    segments = prompt_segments()
    plan = setup.plan(setup.speed_ctx)

    def raw_model() -> Llama:
        started = time.perf_counter()
        llama = Llama(str(setup.path), n_ctx=setup.speed_ctx, n_threads=setup.threads,
                      n_threads_batch=setup.threads, flash_attn=True, swa_full=False, verbose=False)
        print(f"raw llama-cpp-python loaded the model in {time.perf_counter() - started:.1f} s")
        return llama

    def load_app() -> None:
        started = time.perf_counter()
        engine.load(plan).result()
        print(f"app worker loaded the model in {time.perf_counter() - started:.1f} s")

    app_runs: list[float] = []
    raw_runs: list[float] = []
    llama = raw_model()
    prompt_ids = llama.tokenize(segments_to_text(segments).encode(), add_bos=False, special=True)
    if setup.alternate:
        load_app()
        assert engine.tokenize(segments).result() == prompt_ids  # the same prompt, token for token
        for round_no in range(setup.rounds):
            raw_runs.append(raw_round(llama, prompt_ids, setup.tokens, seed=round_no))
            app_runs.append(app_round(engine, segments, setup.tokens, seed=round_no))
        llama.close()
    else:
        raw_runs = [raw_round(llama, prompt_ids, setup.tokens, seed=n) for n in range(setup.rounds)]
        llama.close()
        load_app()
        assert engine.tokenize(segments).result() == prompt_ids
        app_runs = [app_round(engine, segments, setup.tokens, seed=n) for n in range(setup.rounds)]
    order = "alternating" if setup.alternate else "all raw rounds, then all app rounds"
    print(f"\ngeneration at n_ctx {setup.speed_ctx:,}: {setup.tokens:,} tokens per round, {setup.rounds} "
          f"rounds of each, {order} (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"{'tokens/s':36}{'best':>10}{'median':>10}   rounds")
    rows = (("raw llama-cpp-python generate", raw_runs), ("app: client + pipe + parser", app_runs))
    for label, runs in rows:
        print(f"{label:36}{max(runs):>10,.1f}{statistics.median(runs):>10,.1f}   "
              + " ".join(f"{r:,.1f}" for r in runs))
    best = max(app_runs) / max(raw_runs)
    if setup.alternate:
        middle = statistics.median(a / r for a, r in zip(app_runs, raw_runs, strict=True))
        how = "median of the paired rounds"
    else:
        middle = statistics.median(app_runs) / statistics.median(raw_runs)
        how = "ratio of the medians"
    verdict = "meets" if middle >= TARGET_RATIO else "misses"
    print(f"{'ratio app / raw':36}{best:>10.3f}{middle:>10.3f}   (median: {how}, which "
          f"{verdict} the target of >= {TARGET_RATIO}; best: of the fastest rounds, sensitive to outliers)")
    if setup.alternate:
        cost = statistics.median(1 / a - 1 / r for a, r in zip(app_runs, raw_runs, strict=True))
        print(f"pipeline cost per token (median of the paired rounds): {cost * 1e6:+.1f} us; at the 20b "
              f"twin's 5.7 tokens/s on this machine that is {cost * 5.7:+.4%} of a token's time")


# 2. follow-up after a long conversation


def conversation(target_tokens: int, engine: WorkerEngine) -> list[Message]:
    messages = [Message(SYSTEM, SystemContent(conversation_start_date="2025-06-01"))]
    turn = 0
    while True:
        turn += 1
        messages.append(Message(USER, f"Question {turn}: what was the weather like on day {turn} in the "
                                      "north, and how did the wind change over the afternoon?"))
        messages.append(Message(ASSISTANT, f"On day {turn} the morning was cold and clear; by noon the "
                                           "wind turned west and brought rain, which eased in the "
                                           "evening. " * 3, channel=FINAL))
        if turn % 20 == 0:
            size = engine.tokenize(render_conversation(messages, None)).result()
            if len(size) >= target_tokens:
                return messages


def first_token(engine: WorkerEngine, messages: list[Message]) -> tuple[float, Done]:
    request = GenerateRequest(tuple(render_conversation(messages)), SamplingSettings(seed=1, max_tokens=1))
    started = time.perf_counter()
    arrived = 0.0
    done = None
    for event in engine.generate(request):
        if isinstance(event, TokenEvent) and not arrived:
            arrived = time.perf_counter()
        elif isinstance(event, Done):
            done = event
    assert done is not None, "the follow-up failed"
    return arrived - started, done


def follow_up(engine: WorkerEngine, plan: LoadPlan, setup: Setup) -> None:
    history = conversation(setup.conversation_tokens, engine)
    # The previous turn: the conversation is evaluated and answered (200 tokens), so the cache holds it.
    previous = GenerateRequest(tuple(render_conversation(history)),
                               SamplingSettings(seed=2, max_tokens=200, suppress_specials=NO_STOPS))
    started = time.perf_counter()
    for event in engine.generate(previous):
        if isinstance(event, Done):
            built = event
    print(f"\nfollow-up after a {built.prompt_tokens:,}-token conversation (its first evaluation took "
          f"{time.perf_counter() - started:.1f} s)")
    follow = [*history, Message(ASSISTANT, "It rained in the afternoon.", channel=FINAL),
              Message(USER, QUESTION)]
    reused_s, reused = first_token(engine, follow)
    engine.load(plan).result()  # a fresh worker state: nothing cached
    fresh_s, fresh = first_token(engine, follow)
    print(f"{'':28}{'first token':>12}{'reused':>10}{'evaluated':>11}")
    rows = (("with prefix reuse", reused_s, reused), ("without (fresh cache)", fresh_s, fresh))
    for label, seconds, done in rows:
        print(f"{label:28}{seconds:>10.3f} s{done.reused_tokens:>10,}{done.evaluated_tokens:>11,}")
    print(f"{'ratio without / with':28}{fresh_s / reused_s:>10.0f} x")


# 3. cancel latency


def cancel_latency(engine: WorkerEngine, setup: Setup) -> None:
    """Cancel half a second into the evaluation of a prompt that fills most of the context."""
    sentence = "the weather in the north is cold and windy. "
    (per_ten,) = engine.count_tokens([sentence * 10]).result()
    prompt = (Text(sentence * int(setup.long_ctx * 0.8 * 10 / per_ten)),)
    pid = engine.worker_pid
    generation = engine.generate(GenerateRequest(prompt, SamplingSettings(max_tokens=1)))
    time.sleep(0.5)
    started = time.perf_counter()
    generation.cancel()
    end = list(generation)[-1]
    released = time.perf_counter() - started
    engine.count_tokens(["x"]).result()  # answered once the worker has stopped (or been replaced)
    stopped = time.perf_counter() - started
    if not isinstance(end, Done):
        print(f"\ncancel during prompt evaluation: the generation failed instead: {end.message}")
        return
    report = (f"the worker's report: {end.evaluated_tokens:,} of {end.prompt_tokens:,} prompt tokens "
              "evaluated" if end.prompt_tokens else "the worker's report came after the deadline")
    worker = "kept its model" if engine.worker_pid == pid else "was killed and restarted"
    print(f"\ncancel during prompt evaluation: the generation ended {released * 1000:.1f} ms after cancel() "
          f"(target < 100 ms; {report}); the worker stopped within {stopped * 1000:.0f} ms and {worker}")


if __name__ == "__main__":
    sys.exit(main())
