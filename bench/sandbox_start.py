"""Benchmark: what the python sandbox's kernel layers cost per call, against the guard alone.

A python tool call starts a fresh sandboxed interpreter. This times `PythonSandbox.run` of a small
program, interleaved, in two configurations side by side:

- guard only: no namespaces, no Landlock, no seccomp (the baseline: what macOS and Windows get);
- full: every layer this machine allows (user, mount and network namespaces, the tmpfs run folder,
  Landlock, the seccomp filter), the default.

and prints the median wall time of each with the ratio, and which layers the full runs reported.

    .venv/bin/python bench/sandbox_start.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.tools.sandbox import MiB, PythonSandbox, SandboxLimits

CODE = "import json, math\nprint(json.dumps([math.sqrt(i) for i in range(1000)])[:20])"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    configs = {
        "guard only": SandboxLimits(memory_bytes=512 * MiB, network="guard", writes="guard", syscalls="off"),
        "full": SandboxLimits(memory_bytes=512 * MiB),
    }
    times: dict[str, list[float]] = {name: [] for name in configs}
    kernel: list[str] = []
    for run in range(args.runs + 1):  # the first round warms the disk cache and is not counted
        for name, limits in configs.items():
            started = time.perf_counter()
            result = PythonSandbox(limits).run(CODE)
            elapsed = time.perf_counter() - started
            if not result.ok:
                raise SystemExit(f"{name}: {result.outcome}: {result.message}\n{result.output}")
            if run:
                times[name].append(elapsed)
            if name == "full":
                kernel = [p.aspect for p in result.protections if p.by == "kernel"]
    baseline = statistics.median(times["guard only"])
    print(f"python tool call, start to result, median of {args.runs}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<11} {median * 1000:6.1f} ms  x{median / baseline:4.2f}  "
              f"(min {min(values) * 1000:.1f}, max {max(values) * 1000:.1f})")
    print(f"  kernel-enforced in the full runs: {', '.join(kernel)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
