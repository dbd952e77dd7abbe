"""`ossian harmony`: render a conversation as a Harmony prompt, or parse Harmony text into messages.

`render CASE.json` prints the prompt text exactly (no newline added); `parse [--role R] [--strict] FILE`
prints the messages as a JSON list in openai-harmony's message shape. Both read `-` as standard input and
write UTF-8 whatever the console's encoding, so the output can be compared byte for byte (SPEC section 10).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app.commands import CommandError
from app.harmony import (
    ROLES,
    HarmonyFormatError,
    HarmonyParseError,
    messages_to_json,
    parse_text,
    render_case_from_json,
    render_conversation,
    segments_to_text,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "harmony", help="render conversations and parse model output in gpt-oss's Harmony format",
        description="Check Harmony prompts and parsing by hand: the same code the app runs.")
    actions = parser.add_subparsers(dest="harmony_action", metavar="ACTION", required=True)

    render = actions.add_parser(
        "render", help="print the prompt a conversation renders to",
        description='Print the Harmony prompt for CASE.json, an object {"messages": [...], "next_turn_role": '
                    '"assistant" or null, "auto_drop_analysis": true or false} with messages in '
                    "openai-harmony's JSON shape. Nothing is added after the prompt, not even a newline.")
    render.add_argument("case", metavar="CASE.json", help="the case file, or - for standard input")
    render.set_defaults(handler=run_render)

    parse = actions.add_parser(
        "parse", help="print the messages in Harmony text as JSON",
        description="Parse Harmony text (special tokens written literally, e.g. <|start|>) into a JSON list "
                    "of messages. Trailing whitespace at the end of the file is ignored.")
    parse.add_argument("--role", choices=ROLES, default=None,
                       help="the role already known from the prompt (e.g. assistant, so the text may start "
                            "at <|channel|>); by default the text starts with <|start|>")
    parse.add_argument("--strict", action="store_true",
                       help="fail on anything that breaks the Harmony grammar instead of recovering")
    parse.add_argument("file", metavar="FILE", help="the text file, or - for standard input")
    parse.set_defaults(handler=run_parse)


def run_render(args: argparse.Namespace) -> int:
    text = read_text(args.case)
    try:
        document: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(
            f"{args.case} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    try:
        case = render_case_from_json(document)
        segments = render_conversation(case.messages, case.next_turn_role,
                                       auto_drop_analysis=case.auto_drop_analysis)
    except HarmonyFormatError as exc:
        raise CommandError(f"{args.case}: {exc}") from None
    write_utf8(segments_to_text(segments))
    return 0


def run_parse(args: argparse.Namespace) -> int:
    # Editors end files with a newline that is no part of the model's output.
    text = read_text(args.file).rstrip()
    try:
        messages = parse_text(text, args.role, strict=args.strict)
    except HarmonyParseError as exc:
        raise CommandError(f"{args.file}: {exc} (without --strict the parser recovers)") from None
    write_utf8(json.dumps(messages_to_json(messages), ensure_ascii=False, indent=2) + "\n")
    return 0


def read_text(name: str) -> str:
    try:
        data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {name}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CommandError(
            f"{name} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8") from None


def write_utf8(text: str) -> None:
    stream = getattr(sys.stdout, "buffer", None)
    if stream is None:
        sys.stdout.write(text)
    else:
        sys.stdout.flush()
        stream.write(text.encode("utf-8"))
        stream.flush()
