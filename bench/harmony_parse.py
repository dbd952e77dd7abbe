"""Benchmark of the Harmony stream parser: tokens per second on a long generated stream.

The chat loop feeds the parser every generated token, so its cost per token is what matters. Each
parser is timed beside a loop that only iterates the same (id, piece) pairs, and beside the bare
incremental UTF-8 decode it cannot avoid; the last line gives the parser's share of generation time at
500 tokens per second. Target: under 2% of generation time, i.e. well over 25,000 tokens per second.

    flock /tmp/ossian-heavy.lock .venv/bin/python bench/harmony_parse.py [--tokens N] [--repeats N]

The stream repeats realistic gpt-oss turns (reasoning, a preamble, a function call with JSON
arguments, a tool result, a final answer with Markdown, accents, CJK and emoji), cut into 1-6 byte
pieces the way a BPE vocabulary cuts text, so multi-byte characters are split across tokens.
"""

from __future__ import annotations

import argparse
import codecs
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.harmony import SPECIAL_TOKENS, StreamParser, TextStreamParser

GENERATION_RATE = 500  # tokens per second
TARGET_SHARE = 0.02
# A made-up vocabulary: the parser must never depend on where the specials sit.
SPECIAL_IDS = {name: 900_000 + index for index, name in enumerate(SPECIAL_TOKENS)}
TURN = [
    ("<|channel|>analysis", "The user asks about the weather in Zürich and wants a packing list. We need the "
     "forecast; call get_weather with the city. Then suggest clothes: layers, a rain jacket, maybe "
     "sunglasses. Keep it short. 東京 is not relevant. Let's do it. 🌦️"),
    ("<|start|>assistant<|channel|>commentary", "Let me look up the forecast first."),
    ("<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json",
     '{"city": "Zürich", "days": 3, "units": "celsius"}'),
    ("<|start|>functions.get_weather to=assistant<|channel|>commentary",
     '{"forecast": [{"day": "Mon", "high": 14, "rain": 0.6}, {"day": "Tue", "high": 17, "rain": 0.1}]}'),
    ("<|start|>assistant<|channel|>analysis", "Rain Monday, mild Tuesday. Recommend a shell and layers."),
    ("<|start|>assistant<|channel|>final",
     "**Zürich, next three days**\n\n| Day | High | Rain |\n|---|---|---|\n"
     "| Mon | 14 °C | 60 % |\n| Tue | 17 °C | 10 % |\n\nPack:\n- a light rain jacket ☔\n- a warm layer\n"
     "- comfortable shoes for cobblestones — and enjoy the Limmat! 😊"),
]
ENDINGS = ["<|end|>", "<|end|>", "<|call|>", "<|end|>", "<|end|>", "<|return|>"]


def build_stream(token_count: int, seed: int = 7) -> tuple[list[tuple[int, bytes]], int]:
    """(id, piece) pairs of about `token_count` tokens, and the number of messages in them."""
    rng = random.Random(seed)
    stream: list[tuple[int, bytes]] = []
    messages = 0
    while len(stream) < token_count:
        for (header, content), ending in zip(TURN, ENDINGS, strict=True):
            for piece in split_specials(header):
                stream += tokenize(piece, rng)
            stream.append((SPECIAL_IDS["<|message|>"], b""))
            stream += tokenize(content, rng)
            stream.append((SPECIAL_IDS[ending], b""))
            messages += 1
    return stream, messages


def split_specials(text: str) -> list[str]:
    pieces, position = [], 0
    while position < len(text):
        starts = [(text.find(token, position), token) for token in SPECIAL_TOKENS if token in text[position:]]
        if not starts:
            return [*pieces, text[position:]]
        start, token = min(starts)
        if start > position:
            pieces.append(text[position:start])
        pieces.append(token)
        position = start + len(token)
    return pieces


def tokenize(text: str, rng: random.Random) -> list[tuple[int, bytes]]:
    if text in SPECIAL_IDS:
        return [(SPECIAL_IDS[text], b"")]
    data, tokens, position = text.encode(), [], 0
    while position < len(data):
        size = rng.randint(1, 6)
        tokens.append((rng.randrange(1_000, 200_000), data[position:position + size]))
        position += size
    return tokens


def iterate_only(stream: list[tuple[int, bytes]]) -> None:
    for _token_id, _piece in stream:
        pass


def decode_only(stream: list[tuple[int, bytes]]) -> None:
    decode = codecs.getincrementaldecoder("utf-8")("replace").decode
    for _token_id, piece in stream:
        decode(piece)


def token_parser(stream: list[tuple[int, bytes]]) -> None:
    parser = StreamParser(SPECIAL_IDS)
    feed = parser.feed
    for token_id, piece in stream:
        feed(token_id, piece)
    parser.finish()


def text_parser(chunks: list[str]) -> Callable[[list[tuple[int, bytes]]], None]:
    """The text front end, fed the same tokens as text (as a remote engine streams them)."""
    def run(_stream: list[tuple[int, bytes]]) -> None:
        parser = TextStreamParser()
        feed = parser.feed
        for chunk in chunks:
            feed(chunk)
        parser.finish()
    return run


def best_time(function: Callable[[list[tuple[int, bytes]]], None], stream: list[tuple[int, bytes]],
              repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function(stream)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=300_000, help="length of the stream (default 300,000)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per measurement; the best counts")
    args = parser.parse_args()

    stream, message_count = build_stream(args.tokens)
    by_id = {token_id: name for name, token_id in SPECIAL_IDS.items()}
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    chunks = [by_id[token_id] if token_id in by_id else decoder.decode(piece) for token_id, piece in stream]
    check = StreamParser(SPECIAL_IDS)
    check.feed_all(stream)
    assert len(check.messages) == message_count, (len(check.messages), message_count)
    assert check.messages[-1].channel == "final" and check.messages[-1].content.endswith("😊")

    runs = [
        ("iterate only (baseline)", iterate_only),
        ("UTF-8 decode only", decode_only),
        ("StreamParser.feed", token_parser),
        ("TextStreamParser.feed", text_parser(chunks)),
    ]
    print(f"Harmony parser: {len(stream):,} tokens, {message_count:,} messages, best of {args.repeats}")
    print(f"{'':26}{'seconds':>10}{'tokens/s':>14}{'x iterate':>11}")
    timings = {}
    for label, function in runs:
        timings[label] = best_time(function, stream, args.repeats)
    baseline = timings["iterate only (baseline)"]
    for label, seconds in timings.items():
        print(f"{label:26}{seconds:10.4f}{len(stream) / seconds:14,.0f}{seconds / baseline:11.1f}")
    per_token = (timings["StreamParser.feed"] - baseline) / len(stream)
    share = per_token * GENERATION_RATE
    verdict = "meets" if share < TARGET_SHARE else "MISSES"
    print(f"StreamParser cost at {GENERATION_RATE} tokens/s: {share:.3%} of generation time "
          f"({per_token * 1e6:.2f} us per token; {verdict} the target of < {TARGET_SHARE:.0%}, "
          f"i.e. > {GENERATION_RATE / TARGET_SHARE:,.0f} tokens/s)")
    return 0 if share < TARGET_SHARE else 1


if __name__ == "__main__":
    sys.exit(main())
