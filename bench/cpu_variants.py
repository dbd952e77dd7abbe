"""Benchmark: the module build's chosen CPU variant against a build compiled for this very CPU.

Releases ship one `ggml-cpu-<variant>` module per x86-64 instruction set and load the best one at run
time; a development build is compiled with `GGML_NATIVE` for the machine it runs on. The question is
what the portable choice costs. Each build runs in its own child process (its own virtual environment)
through the worker's loader on the CPU alone (a plan with no device), on the same model with the same
threads, and measures:

- prompt: one batch of 256 tokens evaluated (tokens/s);
- generation: single-token decodes, as sampling does (tokens/s).

Printed side by side with the ratio module/native (target: at least 0.98), best of `--repeat` runs.

    flock /tmp/ossian-heavy.lock .venv/bin/python bench/cpu_variants.py [--twin] [--repeat N]
        [--rounds N] [--native .venv/bin/python] [--modules .venv-vulkan/bin/python]

`--twin` adds the 20b shape twin (real shapes, a minute to load on two cores) to the tiny model.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROMPT_TOKENS = 256
GENERATED_TOKENS = 64


def child(model: str, threads: int, repeat: int) -> dict:
    """Runs inside one build's interpreter: load, then time prompt and generation."""
    sys.path.insert(0, str(ROOT))
    from llama_cpp import llama_cpp as llama_c

    from app.engine.interface import LoadPlan
    from app.engine.worker_backends import load_backends
    from app.engine.worker_load import load_model
    from app.engine.worker_log import LlamaLog

    log = LlamaLog(forward=None)
    log.install()
    backends = load_backends()
    plan = LoadPlan(model, n_ctx=4096, n_threads=threads, devices=(), n_batch=512, n_ubatch=512)
    loaded = load_model(plan, log)
    vocab = loaded.tokenizer.n_vocab
    prompt = [(7 * i + 11) % min(vocab, 256) for i in range(PROMPT_TOKENS)]
    best_prompt = best_generation = 0.0
    for _ in range(repeat):
        llama_c.llama_memory_clear(loaded.memory, True)
        loaded.batch.fill(prompt, 0)
        started = time.perf_counter()
        assert llama_c.llama_decode(loaded.ctx, loaded.batch.batch) == 0
        best_prompt = max(best_prompt, PROMPT_TOKENS / (time.perf_counter() - started))
        started = time.perf_counter()
        for step in range(GENERATED_TOKENS):
            loaded.batch.fill([prompt[step % len(prompt)]], PROMPT_TOKENS + step)
            assert llama_c.llama_decode(loaded.ctx, loaded.batch.batch) == 0
        best_generation = max(best_generation, GENERATED_TOKENS / (time.perf_counter() - started))
    loaded.close()
    return {"variant": backends.cpu_variant or "native (built in)", "prompt": best_prompt,
            "generation": best_generation}


def run_child(python: str, model: Path, threads: int, repeat: int) -> dict:
    done = subprocess.run([python, __file__, "--child", str(model), str(threads), str(repeat)],
                          capture_output=True, text=True, cwd=ROOT, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"{python} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def best(kept: dict | None, new: dict) -> dict:
    if kept is None:
        return new
    return {**kept, "prompt": max(kept["prompt"], new["prompt"]),
            "generation": max(kept["generation"], new["generation"])}


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--twin", action="store_true", help="also the 20b shape twin")
    parser.add_argument("--repeat", type=int, default=3, help="measurements per process")
    parser.add_argument("--rounds", type=int, default=2, help="processes per build, taking turns")
    parser.add_argument("--threads", type=int, default=None, help="default: physical cores")
    parser.add_argument("--native", default=str(ROOT / ".venv" / "bin" / "python"))
    parser.add_argument("--modules", default=str(ROOT / ".venv-vulkan" / "bin" / "python"))
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import psutil

    from fixtures.tiny_models import tiny_gpt_oss_model

    threads = args.threads or psutil.cpu_count(logical=False) or 1
    models = [("tiny", tiny_gpt_oss_model())]
    if args.twin:
        from fixtures.shape_twins import shape_twin_20b

        models.append(("20b twin", shape_twin_20b()))
    print(f"{threads} threads, best of {args.repeat} x {args.rounds} rounds taking turns; "
          f"prompt {PROMPT_TOKENS} tokens in one batch, "
          f"generation {GENERATED_TOKENS} single-token decodes; CPU only")
    print(f"{'model':<10} {'build':<28} {'prompt tok/s':>13} {'gen tok/s':>10} {'ratio prompt':>13} "
          f"{'ratio gen':>10}")
    for label, path in models:
        # the builds take turns, each in a fresh process (page cache and CPU clocks shared alike), and the
        # best of all turns counts
        native, modules = None, None
        for _ in range(args.rounds):
            native = best(native, run_child(args.native, path, threads, args.repeat))
            modules = best(modules, run_child(args.modules, path, threads, args.repeat))
        assert native is not None and modules is not None
        print(f"{label:<10} {native['variant']:<28} {native['prompt']:>13.1f} {native['generation']:>10.2f}")
        print(f"{'':<10} {'module ' + modules['variant']:<28} {modules['prompt']:>13.1f} "
              f"{modules['generation']:>10.2f} {modules['prompt'] / native['prompt']:>13.3f} "
              f"{modules['generation'] / native['generation']:>10.3f}")
    print("target: module / native at least 0.98")
    return 0


if __name__ == "__main__":
    sys.exit(main())
