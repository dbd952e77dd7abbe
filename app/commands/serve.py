"""`ossian serve`: the model behind Ossian's own OpenAI-compatible API, for other apps on this computer.

Loads the model with the planner's plan for this machine (`--ctx` asks for a context length; by default
the planner chooses, as the window does), then serves `/v1/models`, `/v1/chat/completions` and
`/v1/responses` (see `app.api`) until Ctrl-C. The first line on stdout is
`serving http://HOST:PORT/v1 key KEY`, for a script or a person to pass to a client
(`OPENAI_BASE_URL`, `OPENAI_API_KEY`); notes go to stderr.

Loopback only unless `--host` names another address; the key is random unless `--api-key` gives one.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

from app.commands import CommandError, UsageError

if TYPE_CHECKING:
    from app.planner import Plan

DEFAULT_PORT = 8421  # not 8080 (llama-server), 1234 (LM Studio) or 11434 (Ollama): they may all run here


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve", help="serve a gpt-oss model to other apps through an OpenAI-compatible API",
        description="Load a gpt-oss GGUF model and serve it with an OpenAI-compatible API (/v1/models, "
                    "/v1/chat/completions, /v1/responses) on this computer, until Ctrl-C. The first line "
                    "printed is `serving URL key KEY`.")
    parser.add_argument("--model", required=True, metavar="PATH", help="the gpt-oss .gguf file")
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to listen on (default 127.0.0.1: this computer only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"the port to listen on (default {DEFAULT_PORT}; 0: any free port)")
    parser.add_argument("--api-key", metavar="KEY", help="the key clients must send (default: a random one)")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="another name clients may reach this server by (the Host header), e.g. a "
                             "machine name when --host is a network address")
    parser.add_argument("--ctx", type=int, metavar="TOKENS",
                        help="context length to load the model with (default: the planner's choice)")
    parser.add_argument("--threads", type=int, metavar="N", help="CPU threads (default: the physical cores)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise UsageError("--port must be from 0 to 65535")
    if args.ctx is not None and args.ctx < 256:
        raise UsageError("--ctx must be at least 256 tokens")
    if args.threads is not None and args.threads < 1:
        raise UsageError("--threads must be at least 1")
    if args.api_key is not None and (len(args.api_key) < 8 or any(c.isspace() for c in args.api_key)):
        raise UsageError("--api-key must be at least 8 characters, with no spaces")
    # Imported here: `ossian --help` and every other command build this parser, and need none of it.
    from app.api import ApiServer, ApiSettings, allowed_hosts_for, create_app, is_loopback, new_api_key
    from app.engine.client import WorkerEngine
    from app.engine.interface import EngineFailure

    plan = _plan(args.model, args.ctx, args.threads)
    key = args.api_key or new_api_key()
    settings = ApiSettings(api_key=key, allowed_hosts=allowed_hosts_for(args.host, args.allow_host))
    engine = WorkerEngine()
    try:
        try:
            engine.load(plan.load).result()
        except EngineFailure as exc:
            raise CommandError(f"{exc.error.message} Nothing is served.") from None
        server = ApiServer(create_app(engine, settings), args.host, args.port)
        print(f"serving {server.base_url} key {key}", flush=True)
        print(f"ossian: {plan.explanation}", file=sys.stderr)
        if not is_loopback(args.host):
            print(f"ossian: listening on {args.host}: anyone who can reach this computer and has the key can "
                  "use the model.", file=sys.stderr)
        print("ossian: press Ctrl-C to stop.", file=sys.stderr, flush=True)
        try:
            server.run()
        except KeyboardInterrupt:  # Ctrl-C is how a server is meant to stop
            print("ossian: stopped.", file=sys.stderr)
    finally:
        engine.close()
    return 0


def _plan(model_path: str, ctx: int | None, threads: int | None) -> Plan:
    from app.gguf import read_profile
    from app.planner import PlanRequest, detect_machine, make_plan

    profile = read_profile(model_path)  # a ModelFileError reaches the command line as it is
    plan = make_plan(profile, detect_machine(), PlanRequest(n_ctx=ctx))
    if not plan.fits:
        raise CommandError(plan.explanation)
    if threads is not None:
        plan = replace(plan, load=replace(plan.load, n_threads=threads))
    return plan
