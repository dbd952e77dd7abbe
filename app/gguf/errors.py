"""What is wrong with a model file, said so a person can act on it: `ModelFileError`.

Raised by the header reader and the profile; the engine's worker, the planner, the models room and the
commands all catch this one class.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from app.errors import OssianError

ModelFileProblem = Literal[
    "missing",        # no file at that path
    "unreadable",     # a folder, or no permission to read
    "not_gguf",       # not a GGUF file at all
    "unsupported",    # a GGUF this version cannot read (version, byte order, tensor type)
    "truncated",      # shorter than its own header says: an interrupted download or copy
    "missing_parts",  # a split model with parts absent
    "damaged",        # a GGUF whose contents contradict themselves or lack what gpt-oss needs
    "wrong_architecture",  # a fine GGUF of another model family
]


class ModelFileError(OssianError):
    """A model file that cannot be used. `problem` is for code; the message is for the person."""

    def __init__(self, path: str | Path, problem: ModelFileProblem, message: str) -> None:
        super().__init__(message)
        self.path = Path(path)
        self.problem: ModelFileProblem = problem
        self.message = message
