"""Benchmark of the worker's own o200k tokenization (app/engine/worker_o200k.py) against llama.cpp's.

Texts holding a combining mark or a cased letter beyond ASCII are tokenized by the worker in Python,
since llama.cpp's pre-tokenizer cuts them otherwise than o200k. This times both on the same texts (about
1 MB each) with gpt-oss's real vocabulary (the tiny real-vocabulary model), prints the ratio, and checks
the worker's ids against the reference (openai-harmony) on each text.

    flock /tmp/ossian-heavy.lock .venv/bin/python bench/o200k_tokenize.py [--size BYTES]

The texts: German, Russian and French prose repeated (words recur, as in real text, and the worker
remembers each word's merge), Hindi (marks), and 200,000 random distinct accented words (no word recurs:
the worst case for the worker's per-word cache).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.engine.interface import LoadPlan
from app.engine.worker_load import load_vocabulary
from app.engine.worker_log import LlamaLog
from app.engine.worker_o200k import O200kTokenizer
from app.engine.worker_o200k import prepare as prepare_o200k
from fixtures import o200k
from fixtures.tiny_models import tiny_gpt_oss_real_vocabulary_model

PROSE = {
    "german": "Die Straße ist schön, aber übermäßig große Äpfel fallen öfter als Birnen. ÜBER ALLES! ",
    "russian": "Съешь же ещё этих мягких французских булок, да выпей чаю. МОСКВА — столица. ",
    "french": "L'été dernier, nous sommes allés à la plage près de Saint-Malo — ÇA VA, c'était beau. ",
    "hindi": "हिन्दी भारत की राजभाषा है। यह देवनागरी लिपि में लिखी जाती है। ",
}


def texts(size: int) -> dict[str, str]:
    result = {name: line * (size // len(line.encode())) for name, line in PROSE.items()}
    rnd = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyzäöüßéèçÉÜ"
    words: list[str] = []
    while sum(len(word) + 1 for word in words) < size:
        words.append("".join(rnd.choice(letters) for _ in range(rnd.randint(2, 12))))
    result["distinct words"] = " ".join(words)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="bytes of each text (default 1 MB)")
    args = parser.parse_args()

    log = LlamaLog(forward=None)
    log.install()
    vocabulary = load_vocabulary(LoadPlan(model_path=str(tiny_gpt_oss_real_vocabulary_model()), n_ctx=512,
                                          n_threads=1, vocab_only=True), log)
    tokenizer = vocabulary.tokenizer
    prepare_o200k()
    own = tokenizer._o200k_tokenizer()  # the worker's own, built from the loaded vocabulary
    assert own is not None, "the vocabulary's ids are not its merge ranks: the worker would not use it"
    reference = o200k.reference_encoding()
    print(f"{'text':<16}{'MB':>6}{'llama.cpp s':>13}{'worker s':>10}{'ratio':>8}  ids")
    failed = False
    for name, text in texts(args.size).items():
        assert O200kTokenizer.needed_for(text)
        own._encode_piece.cache_clear()  # a fresh per-word cache for each text
        start = time.perf_counter()
        llama_ids = tokenizer._tokenize(text.encode())
        llama_s = time.perf_counter() - start
        start = time.perf_counter()
        own_ids = own.encode(text, lambda piece: tokenizer._tokenize(piece.encode()))
        own_s = time.perf_counter() - start
        same = own_ids == reference.encode(text, disallowed_special=())
        failed |= not same
        print(f"{name:<16}{len(text.encode()) / 1e6:>6.2f}{llama_s:>13.2f}{own_s:>10.2f}"
              f"{own_s / llama_s:>7.2f}x  {'the reference' if same else 'DIFFER from the reference'}"
              f" ({len(own_ids):,} tokens; llama.cpp alone {len(llama_ids):,})")
    vocabulary.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
