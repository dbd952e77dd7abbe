"""Reading llama.cpp's log: the buffer sizes it allocated, and the lines that explain a failure.

llama.cpp reports what it allocated only in its log ("CPU_Mapped model buffer size = 11536.18 MiB",
"CUDA0 KV buffer size = ...", "CPU compute buffer size = ..."); there is no C API for it in the version
the app pins. The worker captures the log of each load and this module turns it into `BufferSize`s, which
the planner holds against its predictions. It also names the failures a person can act on. Pure text
processing, so it is tested without llama.cpp.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from app.engine.interface import BufferSize

_BUFFER_LINE = re.compile(
    r"(?P<device>[A-Za-z0-9_]+)\s+(?P<kind>model|KV|compute|output) buffer size\s*=\s*(?P<mib>[0-9.]+) MiB")
# gpt-oss has two KV caches (full attention and sliding window); llama.cpp says which one comes next.
_KV_CACHE_LINE = re.compile(r"creating\s+(?P<label>non-SWA|SWA) KV cache")
_KINDS = {"model": "model", "KV": "kv", "compute": "compute", "output": "output"}

# Log phrases of an allocation that failed: the plan asked for more memory than the device has.
MEMORY_FAILURE_PHRASES: tuple[str, ...] = (
    "bad_alloc", "failed to allocate", "unable to allocate", "out of memory", "cannot allocate",
    "failed to create buffer", "cudamalloc failed", "not enough memory",
)
# Log phrases of a file that is cut short or damaged.
DAMAGED_FILE_PHRASES: tuple[str, ...] = (
    "not within the file bounds", "corrupted or incomplete", "failed to read", "unexpectedly reached end",
    "invalid magic", "tensor data is not", "wrong number of tensors",
)


def buffer_sizes(lines: Iterable[str]) -> tuple[BufferSize, ...]:
    """Every buffer-size line of one load, in the order llama.cpp logged them."""
    sizes: list[BufferSize] = []
    kv_label = ""
    for line in lines:
        cache = _KV_CACHE_LINE.search(line)
        if cache:
            kv_label = cache["label"]
            continue
        match = _BUFFER_LINE.search(line)
        if not match:
            continue
        kind = _KINDS[match["kind"]]
        sizes.append(BufferSize(kind=kind, device=match["device"], bytes=round(float(match["mib"]) * 2**20),
                                label=kv_label if kind == "kv" else ""))
    return tuple(sizes)


def mentions(lines: Iterable[str], phrases: Iterable[str]) -> bool:
    lowered = [line.lower() for line in lines]
    return any(phrase in line for phrase in phrases for line in lowered)


def explanation(lines: Iterable[str], limit: int = 3) -> str:
    """The last few distinct error lines, without llama.cpp's function-name prefixes, for a message."""
    seen: list[str] = []
    for line in lines:
        text = line.strip()
        prefix, sep, rest = text.partition(": ")
        if sep and re.fullmatch(r"[A-Za-z_~][A-Za-z0-9_:~]*", prefix):
            text = rest
        if text and text not in seen:
            seen.append(text)
    return "; ".join(seen[-limit:])
