"""Units as people read them, in one place: sizes, memory, speeds, durations, token counts, context sizes.

Sizes are binary and named so: KiB, MiB, GiB (1 GiB = 2**30 bytes). One convention for everything,
because Ossian puts a model's file size right next to the memory it has to fit in ("MXFP4 · 11.3 GiB"
beside "23.5 of 24 GiB free"): memory is sold and reported by drivers in binary units, and a decimal
"12.1 GB" file beside "12 GiB free" would read as fitting when it does not. The IEC names say which
convention this is, so nothing claims to be "what file managers show" (they disagree among themselves).
The Hub shows decimal GB, so a model's size here is about 7% smaller a number than on its page.

Context sizes are named the way models name them, in K of 1,024 tokens ("32K", "128K"); token counts
are plain counts, in K of 1,000 ("1.2K").

Standard library only, and it imports nothing of the app: every room may use it (like `app.paths`).
"""

from __future__ import annotations

KIB = 2**10
MIB = 2**20
GIB = 2**30

# The context a conversation is loaded with unless the planner can afford more (or the model was
# trained for less); also what the context meter assumes before any model is loaded.
DEFAULT_CONTEXT = 32768
# The context for a single question (`ossian chat`) and for a load nobody sized (`LoadPlan`'s default):
# a small KV cache that loads fast on any machine.
SHORT_CONTEXT = 8192

_BINARY_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB")


def format_bytes(count: float) -> str:
    """'812 B', '3.4 KiB', '64 MiB', '11.3 GiB', '256 GiB': three figures at most, '.0' left out.

    A unit takes over at 1,000 of the one below (never '1,023 KiB', but '1 MiB')."""
    value = float(count)
    if abs(value) < 999.5:
        return f"{value:.0f} B"
    for unit in _BINARY_UNITS:
        value /= 1024
        if abs(value) < 999.5 or unit == _BINARY_UNITS[-1]:
            break
    if abs(value) >= 99.95:
        return f"{value:.0f} {unit}"
    return f"{value:.1f}".removesuffix(".0") + f" {unit}"


def format_gib(count: float) -> str:
    """'12.3 GiB', '0.4 GiB', '24.0 GiB': memory always in GiB with one decimal, for the planner's
    sentences and tables, where figures are compared with each other (`ossian plan`, `ossian doctor`)."""
    return f"{count / GIB:.1f} GiB"


def format_speed(bytes_per_second: float) -> str:
    """'43.2 MiB/s'."""
    return f"{format_bytes(bytes_per_second)}/s"


def format_duration(seconds: float | None) -> str:
    """'0.4 s', '12 s', '2 min 5 s', '2 min', '2 h 5 min'; None (not known yet): 'unknown'.

    Tenths under ten seconds (a tool call, a pause), whole seconds and minutes above (a download's
    time left)."""
    if seconds is None:
        return "unknown"
    if seconds < 9.95:
        return f"{max(0.0, seconds):.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min {secs} s" if secs else f"{minutes} min"


def format_tokens(count: int) -> str:
    """'850', '1.2K', '96K', '1.3M': a token count short enough for a chip or the context meter's line."""
    if count < 1000:
        return str(count)
    if count < 10_000:
        return f"{count / 1000:.1f}".removesuffix(".0") + "K"
    if count < 999_500:
        return f"{round(count / 1000)}K"
    return f"{count / 1_000_000:.1f}".removesuffix(".0") + "M"


def format_context(n_ctx: int) -> str:
    """'32K' for whole multiples of 1,024 tokens (as context sizes are named), else '12,345'."""
    return f"{n_ctx // 1024}K" if n_ctx % 1024 == 0 else f"{n_ctx:,}"


def context_label(n_ctx: int) -> str:
    """'32K context', '12,345-token context': a context size before the word, as in 'a 32K context'."""
    return f"{n_ctx // 1024}K context" if n_ctx % 1024 == 0 else f"{n_ctx:,}-token context"
