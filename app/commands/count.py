"""`ossian count --model MODEL [--json] FILE...`: what each file costs in a gpt-oss prompt, in tokens.

For each file it prints the tokens of its extracted text alone (`text_tokens`) and the tokens it adds to
the prompt as an attachment (`prompt_tokens`: its prompt block, header and page markers included, the
number the window's chip and context meter show). Both come from the app's own path: the documents
room extracts the file and builds the block exactly as a chat would (`app.chat.attachments`), and the
engine's worker tokenizes with the model's own vocabulary, loaded without its weights
(`LoadPlan.vocab_only`), so counting against a 12 GB model takes about a second. A file that cannot be
read is reported on standard error and the others are still counted (exit status 1).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.chat.attachments import prepare_document
from app.commands import CommandError
from app.engine.client import WorkerEngine
from app.engine.interface import EngineFailure, LoadPlan
from app.errors import OssianError

LOAD_TIMEOUT_S = 120.0  # a vocabulary loads in about a second; a cold disk and a large file take longer
COUNT_TIMEOUT_S = 600.0  # tokenizing runs at about a million tokens a second


@dataclass(frozen=True)
class FileCount:
    file: str
    text_tokens: int
    prompt_tokens: int

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "text_tokens": self.text_tokens, "prompt_tokens": self.prompt_tokens}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "count", help="count the tokens files cost in a gpt-oss prompt, with the model's own tokenizer",
        description="For each file: the tokens of its extracted text (text_tokens) and the tokens it adds "
                    "to the prompt as an attachment (prompt_tokens), counted with MODEL's vocabulary. "
                    "Only the vocabulary is loaded, not the weights.")
    parser.add_argument("--model", required=True, metavar="MODEL",
                        help="the gpt-oss .gguf file whose tokenizer counts (for a split model, any part)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per file: {\"file\", \"text_tokens\", \"prompt_tokens\"}")
    parser.add_argument("files", nargs="+", metavar="FILE", help="documents: PDF, DOCX, text, HTML, code")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    engine = WorkerEngine()
    try:
        _load_vocabulary(engine, args.model)
        failed = False
        for name in args.files:
            try:
                result = count_file(engine, name)
            except OssianError as exc:  # this file: said, and the others still counted
                print(f"ossian count: {name}: {exc}", file=sys.stderr)
                failed = True
                continue
            print(json.dumps(result.as_dict(), ensure_ascii=False) if args.json else format_count(result),
                  flush=True)
        return 1 if failed else 0
    finally:
        engine.close()


def count_file(engine: WorkerEngine, name: str) -> FileCount:
    """One file through the chat's own attachment path, counted by the loaded vocabulary."""

    def count_tokens(texts: Sequence[str]) -> list[int]:
        return engine.count_tokens(texts).result(timeout=COUNT_TIMEOUT_S)

    prepared = prepare_document(Path(name), count_tokens=count_tokens)
    (text_tokens,) = count_tokens([prepared.document.text])
    return FileCount(name, text_tokens, prepared.tokens.tokens)


def format_count(result: FileCount) -> str:
    return f"{result.file}\ttext_tokens {result.text_tokens}\tprompt_tokens {result.prompt_tokens}"


def _load_vocabulary(engine: WorkerEngine, model: str) -> None:
    try:
        engine.load(LoadPlan(model_path=model, vocab_only=True)).result(timeout=LOAD_TIMEOUT_S)
    except EngineFailure as exc:
        raise CommandError(f"cannot count with {model}: {exc.error.message}") from None
