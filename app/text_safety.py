"""Names from outside made safe to show: Unicode's bidirectional controls turned into visible tags.

A name Ossian did not write (a document's file name, a model's name from the Hub or from a GGUF header,
a conversation title, the words of a page some server sent) can carry bidirectional controls. A
right-to-left override makes "invoice\\u202efdp.exe" display as "invoiceexe.pdf"; embeddings, isolates and
the invisible direction marks reorder what follows them. Wherever such a name is shown, or written into
an export or a file name, each control is replaced by a visible tag ("[U+202E]"), so what the person
reads is what the name holds.

Standard library only, and it imports nothing of the app: every room may use it (like `app.paths`).
"""

from __future__ import annotations

# Embeddings and overrides (U+202A-U+202E), isolates (U+2066-U+2069), the left-to-right and right-to-left
# marks (U+200E, U+200F) and the Arabic letter mark (U+061C): everything that changes display order.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")

_VISIBLE = {ord(control): f"[U+{ord(control):04X}]" for control in BIDI_CONTROLS}
_JSON_ESCAPED = {ord(control): f"\\u{ord(control):04x}" for control in BIDI_CONTROLS}


def has_bidi_controls(text: str) -> bool:
    return any(character in BIDI_CONTROLS for character in text)


def shown_name(text: str) -> str:
    """`text` with each bidirectional control written as a visible tag: 'invoice[U+202E]fdp.exe'."""
    return text.translate(_VISIBLE)


def json_text_without_bidi(text: str) -> str:
    """JSON text with each bidirectional control written as its \\\\uXXXX escape: the same data for any
    JSON reader, and nothing left that reorders what an editor shows. (Only valid for JSON text: outside
    strings JSON holds ASCII only, so every control found is inside a string.)"""
    return text.translate(_JSON_ESCAPED)
