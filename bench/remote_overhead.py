"""Benchmark of the raw Harmony tier: a model driven over HTTP with token ids against the same model in the
local worker, side by side.

Both paths run the shared completion (`app.chat.completion`: render, generate, parse) on the same model,
plan, prompt, seed and grammar, in alternating rounds so that a busy machine slows both alike:

- local: `WorkerEngine` (llama.cpp in a child process, tokens over a pipe);
- remote: `HarmonyServerEngine` -> httpx -> a server in llama-server's shape (fixtures/remote_servers.py:
  `/tokenize`, `/completion` streaming one SSE line per token with its id) whose own worker runs the model.
  What the remote path adds is the client's side of a real deployment: tokenizing the prompt through the
  server (each text once, then from the cache), HTTP, SSE lines, JSON per token.

Time to first token: from `complete()` to the first text delta. Tokens per second: generated tokens over the
time from `complete()` to the last delta (a server's SSE lines arrive in bursts: timed from the first delta,
a burst reads as speed). A grammar keeps the reply in one analysis message (`[a-z ]+`) and no
end token is sampled, so every round is `--tokens` long.

The server in llama-server's shape is Python (Starlette, a thread hop per token) on the same cores as the
client, so the end-to-end ratio says more about it than about Ossian. What Ossian owns is the client, so a
third row replays a recorded reply through httpx's transport (no socket, no model): the tokens per second
the client absorbs when the server is instant. Target: that ceiling at least 10 times what the model writes
here (then the client is at most a tenth of the time per token; against gpt-oss on a GPU server at a few
hundred tokens a second, a few thousandths).

    flock /tmp/ossian-heavy.lock .venv/bin/python bench/remote_overhead.py [--model PATH] [--tokens N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from app import harmony
from app.chat.completion import CompletionRequest, complete, prompt_settings
from app.engine.client import WorkerEngine
from app.engine.interface import Engine, LoadPlan, SamplingSettings
from app.engine.remote import ServerAddress, connect
from app.harmony.segments import Text
from fixtures.remote_servers import LlamaServerShape

TARGET_CEILING = 10.0  # the client reads at least this many times faster than the model writes
GRAMMAR = 'root ::= <|channel|> "analysis" <|message|> [a-z ]+'
QUESTION = "Tell me a long story about the sea."
SEED = 11
NO_STOPS = ("<|return|>", "<|call|>", "<|endoftext|>")


@dataclass(frozen=True)
class Round:
    first_token_s: float
    tokens: int
    total_s: float  # request to the last delta

    @property
    def tokens_per_second(self) -> float:
        # Over the whole request, not from the first delta: a server's replies arrive in bursts that a
        # first-to-last interval would read as speed.
        return self.tokens / self.total_s if self.total_s > 0 else 0.0


def one_round(engine: Engine, tokens: int) -> Round:
    request = CompletionRequest((harmony.Message(harmony.USER, QUESTION),), prompt_settings(),
                                SamplingSettings(seed=SEED, max_tokens=tokens, suppress_specials=NO_STOPS),
                                GRAMMAR)
    started = time.perf_counter()
    first = last = 0.0
    completion = complete(engine, request)
    for event in completion:
        if isinstance(event, harmony.TextDelta):
            now = time.perf_counter()
            first = first or now
            last = now
    result = completion.result()
    assert result.error is None, result.error
    return Round(first - started, result.usage.completion_tokens, last - started)


def recorded_stream(engine: Engine, tokens: int) -> list[bytes]:
    """A llama-server `/completion` reply for one round, as SSE lines: what the client reads."""
    from app.chat.completion import CompletionRequest as Request

    request = Request((harmony.Message(harmony.USER, QUESTION),), prompt_settings(),
                      SamplingSettings(seed=SEED, max_tokens=tokens, suppress_specials=NO_STOPS), GRAMMAR)
    specials = set(engine.model.special_ids.values()) if engine.model else set()
    lines = []
    for event in engine.generate(request.generate_request()):
        if hasattr(event, "piece"):
            text = "" if event.id in specials else event.piece.decode("utf-8", "replace")
            lines.append(b"data: " + json.dumps({"content": text, "tokens": [event.id], "stop": False})
                         .encode() + b"\n\n")
    lines.append(b'data: {"content": "", "stop": true, "stop_type": "limit", "timings": {}}\n\n')
    return lines


def client_ceiling(local: Engine, plan: LoadPlan, tokens: int, rounds: int) -> list[float]:
    """Tokens per second the client absorbs when the server is instant: the recorded reply replayed through
    httpx's transport (no socket, no model), the prompt tokenized by the local worker."""
    lines = recorded_stream(local, tokens)

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/props":
            return httpx.Response(200, json={"default_generation_settings": {"n_ctx": plan.n_ctx}})
        if path == "/v1/models":
            return httpx.Response(200, json={"data": [{"id": "replay", "meta": {"n_vocab": 1 << 20}}]})
        if path == "/tokenize":
            body = json.loads(request.content)
            if body["parse_special"] and body["content"] in local.model.special_ids:
                return httpx.Response(200, json={"tokens": [local.model.special_ids[body["content"]]]})
            return httpx.Response(200, json={"tokens": local.tokenize([Text(body["content"])]).result()})
        return httpx.Response(200, stream=httpx.ByteStream(b"".join(lines)),
                              headers={"content-type": "text/event-stream"})

    remote = connect(ServerAddress("http://replay"), transport=httpx.MockTransport(handler))
    remote.load(LoadPlan("")).result(timeout=60)
    speeds = [one_round(remote, tokens).tokens_per_second for _ in range(rounds)]
    remote.close()
    return speeds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a gpt-oss GGUF (default: the tiny test model)")
    parser.add_argument("--tokens", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.model:
        model = Path(args.model)
    else:
        from fixtures.tiny_models import tiny_gpt_oss_model
        model = tiny_gpt_oss_model()
    plan = LoadPlan(str(model), n_ctx=4096, n_threads=args.threads)

    local = WorkerEngine()
    local.load(plan).result(timeout=600)
    behind = WorkerEngine()  # the server's own worker
    behind.load(plan).result(timeout=600)
    shape = LlamaServerShape(behind).start()
    remote = connect(ServerAddress(shape.base_url))
    remote.load(LoadPlan("")).result(timeout=60)

    ceiling = client_ceiling(local, plan, args.tokens, args.rounds)
    one_round(local, 20)  # warm both paths (the server's tokenize cache, the worker's prompt cache)
    one_round(remote, 20)
    pairs: list[tuple[Round, Round]] = []
    for _ in range(args.rounds):
        pairs.append((one_round(local, args.tokens), one_round(remote, args.tokens)))
    remote.close()
    shape.stop()
    behind.close()
    local.close()

    def row(label: str, values: list[float], fmt: str) -> str:
        return (f"{label:<40}{format(max(values), fmt):>10}{format(statistics.median(values), fmt):>10}   "
                + " ".join(format(v, fmt) for v in values))

    ratios = [r.tokens_per_second / lo.tokens_per_second for lo, r in pairs]
    ratio = statistics.median(ratios)
    load = os.getloadavg()[0]
    print(f"remote overhead: {model.name}, {args.threads} thread(s), n_ctx 4,096, {args.tokens:,} tokens per "
          f"round, {args.rounds} rounds of each, alternating (load average {load:.1f} on {os.cpu_count()} "
          "cores)")
    print(f"{'':<40}{'best':>10}{'median':>10}   rounds")
    print(row("local: worker over a pipe (tok/s)", [lo.tokens_per_second for lo, _ in pairs], ",.1f"))
    print(row("remote: HTTP + SSE + ids (tok/s)", [r.tokens_per_second for _, r in pairs], ",.1f"))
    print(f"{'ratio remote / local':<40}{max(ratios):>10.3f}{ratio:>10.3f}   (median of the paired rounds' "
          "ratios; the shape server's own cost on the shared cores is in it)")
    print(row("client alone: replayed reply (tok/s)", ceiling, ",.1f"))
    times = statistics.median(ceiling) / statistics.median([lo.tokens_per_second for lo, _ in pairs])
    verdict = "meets" if times >= TARGET_CEILING else "misses"
    label = "client ceiling / local model speed"
    print(f"{label:<40}{'':>10}{times:>10.1f}   (medians; {verdict} the target of >= {TARGET_CEILING:g})")
    print(row("local: first token (ms)", [lo.first_token_s * 1000 for lo, _ in pairs], ",.1f"))
    print(row("remote: first token (ms)", [r.first_token_s * 1000 for _, r in pairs], ",.1f"))
    return 0 if times >= TARGET_CEILING else 1


if __name__ == "__main__":
    sys.exit(main())
