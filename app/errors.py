"""The root of every error Ossian raises on purpose: `OssianError`.

Each room keeps its own tree below it (`StoreError`, `ModelsError`, `HarmonyError`, `DocumentError`,
`ModelFileError`, `EngineFailure`, `ChatError`, ...) and maps the exceptions of the libraries under it
(sqlite3, huggingface_hub, pypdf, OSError) into that tree at its boundary, the most specific class that
fits. So a window or a command that only shows what went wrong catches `OssianError` and shows
`str(error)`; anything else that reaches it is a bug, and is logged as one.

Cancelling is not an error: a room's "stopped" signal (`ExtractionCancelled`, the worker's `Cancelled`)
stays outside this tree, so catching `OssianError` never swallows a stop.

Standard library only, and it imports nothing of the app: every room may use it (like `app.paths`).
"""

from __future__ import annotations


class OssianError(Exception):
    """A failure with a sentence for the one who reads it.

    The contract: `str(error)` is complete as it stands. It says what is wrong, naming the thing
    concerned (the file, the model, the conversation), and what to do about it, in words the reader
    acts on: a person for everything the window and the command show, the model for a tool's usage
    errors. It holds no traceback, no repr and nothing secret (a token); details for the log go into
    attributes (`detail`) or the exception chain. Rooms add fields for code (`kind`, `problem`, `path`)
    in their subclasses; the text never has to be parsed.
    """
