"""`ossian chat`: one question to a local gpt-oss model, answered on stdout, from the command line.

The question goes through the completion every caller shares (`app.chat.completion`: a system message
with the reasoning effort and today's date, then the user's message), streamed through the engine worker
and parsed token by token: the `final`
channel goes to stdout as it arrives; reasoning (and preambles) go to stderr with `--show-reasoning`; the
statistics go to stderr with `--stats`. `--grammar FILE` constrains the output with GBNF (it may name
Harmony specials such as `<|channel|>`). Any failure exits non-zero with a message saying what to do.

The load plan comes from the planner for this machine (`--ctx` asks for a context length; default 8,192
or the model's training length if smaller, which keeps a one-off question quick to load); `--stats`
also prints the plan's one-sentence explanation.

`--server URL [--api-key KEY] [--model NAME]` asks a server instead (app/engine/remote): llama-server
and vLLM in the raw Harmony tier (the same prompt and parser as locally), Ollama, LM Studio and other
OpenAI-compatible servers in the chat tier. The question then leaves this computer for that server.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

from app.chat.completion import Completion, CompletionRequest, complete, prompt_settings
from app.commands import CommandError, UsageError
from app.engine.client import WorkerEngine
from app.engine.interface import Done, Engine, EngineError, EngineFailure, LoadPlan, SamplingSettings
from app.gguf import read_profile
from app.harmony import (
    USER,
    DisplayKind,
    Message,
    MessageEnded,
    MessageStarted,
    ReasoningEffort,
    TextDelta,
    display_kind,
    turn_answer,
)
from app.planner import Plan, PlanRequest, detect_machine, make_plan
from app.units import SHORT_CONTEXT

API_KEY_VARIABLE = "OSSIAN_SERVER_API_KEY"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "chat", help="ask a local gpt-oss model one question and print its answer",
        description="Ask a gpt-oss GGUF model one question. The answer goes to stdout; reasoning (with "
                    "--show-reasoning) and statistics (with --stats) go to stderr.")
    parser.add_argument("--model", metavar="PATH",
                        help="the gpt-oss .gguf file; with --server, the model's name on the server "
                             "(default: the one it has loaded)")
    parser.add_argument("--server", metavar="URL",
                        help="ask a server instead of a model on this computer: llama-server, vLLM, Ollama, "
                             "LM Studio or any OpenAI-compatible one (e.g. http://gpu-box:8080)")
    parser.add_argument("--api-key", metavar="KEY",
                        help="the server's API key (default: the OSSIAN_SERVER_API_KEY environment variable)")
    parser.add_argument("--effort", choices=[e.value for e in ReasoningEffort], default="medium",
                        help="reasoning effort written into the system message (default: medium)")
    parser.add_argument("--show-reasoning", action="store_true", help="print the reasoning to stderr")
    parser.add_argument("--grammar", metavar="FILE", help="a GBNF grammar the output must follow")
    parser.add_argument("--ctx", type=int, metavar="TOKENS",
                        help=f"context length to load the model with (default: {SHORT_CONTEXT:,} or the "
                             "model's training length if smaller)")
    parser.add_argument("--threads", type=int, metavar="N", help="CPU threads (default: the physical cores)")
    parser.add_argument("--max-tokens", type=int, metavar="N", help="stop after N generated tokens")
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default 1.0)")
    parser.add_argument("--seed", type=int, help="sampling seed, for repeatable output")
    parser.add_argument("--stats", action="store_true", help="print token counts and speeds to stderr")
    parser.add_argument("prompt", nargs="+", metavar="PROMPT", help="the question (- reads standard input)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    prompt = _prompt_text(args.prompt)
    grammar = _grammar_text(args.grammar)
    if args.ctx is not None and args.ctx < 256:
        raise UsageError("--ctx must be at least 256 tokens")
    if args.max_tokens is not None and args.max_tokens < 1:
        raise UsageError("--max-tokens must be at least 1")
    if args.threads is not None and args.threads < 1:
        raise UsageError("--threads must be at least 1")
    if args.server is None and args.model is None:
        raise UsageError("give --model PATH (a .gguf file) or --server URL")
    if args.server is None and args.api_key is not None:
        raise UsageError("--api-key goes with --server")
    request = CompletionRequest(
        messages=(Message(USER, prompt),),
        settings=prompt_settings(ReasoningEffort(args.effort)),
        sampling=SamplingSettings(temperature=args.temperature, seed=args.seed, max_tokens=args.max_tokens),
        grammar=grammar,
    )
    engine, load = _engine_and_load(args)
    try:
        try:
            info = engine.load(load).result()
        except EngineFailure as exc:
            # Say what happened to this command: nothing was asked, and it keeps no conversation.
            raise CommandError(f"{exc.error.message} The question was not asked.") from None
        if args.stats and args.server is not None:
            print(f"plan: {info.model_path} {info.description}; context {info.n_ctx:,} tokens",
                  file=sys.stderr)
        printer = AnswerPrinter(sys.stdout, sys.stderr if args.show_reasoning else None)
        completion = complete(engine, request)
        try:
            outcome = _stream(completion, printer)
        except KeyboardInterrupt:
            completion.cancel()
            raise
    finally:
        engine.close()
    if isinstance(outcome, EngineError):
        raise CommandError(outcome.message)
    printer.finish(list(completion.result().all_messages))
    if args.stats:
        print(format_stats(outcome), file=sys.stderr)
    return 0


def _engine_and_load(args: argparse.Namespace) -> tuple[Engine, LoadPlan]:
    """The engine the question goes to, and what to load on it: this computer's worker with the planner's
    plan, or a server (probed first: a refused connection or a wrong address ends here)."""
    if args.server is None:
        plan = default_plan(args.model, args.ctx, args.threads)
        if args.stats:
            print(f"plan: {plan.explanation}", file=sys.stderr)
        return WorkerEngine(), plan.load
    from app.engine.remote import ServerAddress, ServerFailure, connect

    key = args.api_key if args.api_key is not None else os.environ.get(API_KEY_VARIABLE) or None
    try:
        engine = connect(ServerAddress(args.server, api_key=key, model=args.model))
    except ServerFailure as exc:
        raise CommandError(f"{exc.error.message} The question was not asked.") from None
    return engine, LoadPlan(args.model or "")


def default_plan(model_path: str, ctx: int | None, threads: int | None = None) -> Plan:
    """The planner's plan for this machine; a model that cannot fit is refused with its explanation."""
    profile = read_profile(model_path)  # a ModelFileError reaches the command line as it is
    n_ctx = ctx if ctx is not None else min(SHORT_CONTEXT, profile.hparams.n_ctx_train)
    plan = make_plan(profile, detect_machine(), PlanRequest(n_ctx=n_ctx))
    if not plan.fits:
        raise CommandError(plan.explanation)
    if threads is not None:
        plan = replace(plan, load=replace(plan.load, n_threads=threads))
    return plan


def format_stats(done: Done) -> str:
    return (f"stats: stopped by {done.reason}; prompt {done.prompt_tokens:,} tokens "
            f"({done.reused_tokens:,} reused, {done.evaluated_tokens:,} evaluated) in "
            f"{done.prompt_seconds:.2f} s; first token after {done.time_to_first_token_s:.2f} s; "
            f"{done.generated_tokens:,} tokens generated at {done.tokens_per_second:.1f} tokens/s")


@dataclass
class AnswerPrinter:
    """Writes `final` text to `answer` as it streams, reasoning and preambles to `reasoning` (if any)."""

    answer: TextIO
    reasoning: TextIO | None
    _kinds: dict[int, DisplayKind] = field(default_factory=dict)
    _answered: bool = False
    _last: str = ""

    def on_event(self, event: MessageStarted | TextDelta | MessageEnded) -> None:
        kinds = self._kinds
        if isinstance(event, MessageStarted):
            message = Message(event.role, name=event.name, channel=event.channel, recipient=event.recipient)
            kinds[event.index] = display_kind(message)
            if kinds[event.index] == DisplayKind.TOOL_CALL:
                self._note(f"[the model calls {event.recipient}; `ossian chat` runs no tools]")
            elif self.reasoning is not None and kinds[event.index] != DisplayKind.ANSWER:
                self._note(f"[{event.channel or 'message'}]")
        elif isinstance(event, TextDelta):
            kind = kinds.get(event.index)
            if kind == DisplayKind.ANSWER:
                self._write_answer(event.text)
            elif kind in (DisplayKind.THINKING, DisplayKind.PREAMBLE) and self.reasoning is not None:
                self.reasoning.write(event.text)
                self.reasoning.flush()
        elif isinstance(event, MessageEnded) and self.reasoning is not None \
                and kinds.get(event.index) != DisplayKind.ANSWER:
            self.reasoning.write("\n")

    def finish(self, messages: list[Message]) -> None:
        if not self._answered:
            answer = turn_answer(messages)
            if answer is None:
                raise CommandError("The model ended its turn without an answer. Try again, or ask "
                                   "differently.")
            print("ossian: the model gave no final answer; this is its last message "
                  f"(channel {answer.channel or 'none'}):", file=sys.stderr)
            self._write_answer(answer.text)
        if not self._last.endswith("\n"):
            self.answer.write("\n")
        self.answer.flush()

    def _write_answer(self, text: str) -> None:
        if text:
            self._answered = True
            self._last = text
            self.answer.write(text)
            self.answer.flush()

    def _note(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)


def _stream(completion: Completion, printer: AnswerPrinter) -> Done | EngineError:
    for parsed in completion:
        printer.on_event(parsed)
    if completion.error is not None:
        return completion.error
    assert completion.done is not None
    return completion.done


def _prompt_text(words: list[str]) -> str:
    text = sys.stdin.read() if words == ["-"] else " ".join(words)
    if not text.strip():
        raise UsageError("the prompt is empty: write a question after the options, or - to read stdin")
    return text


def _grammar_text(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"Cannot read the grammar file {path}: {exc.strerror or exc}.") from None
    except UnicodeDecodeError:
        raise CommandError(f"The grammar file {path} is not UTF-8 text.") from None
    if not text.strip():
        raise CommandError(f"The grammar file {path} is empty; it must define `root`.")
    return text
