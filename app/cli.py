"""The `ossian` command: starts the GUI with no arguments, dispatches subcommands otherwise.

Each subcommand lives in its own module under `app/commands/` and registers itself with `register()`;
this module only builds the parser, sets up logging and hands over. Hidden first arguments turn the
process into a child of the app instead (`--worker`, `--worker-probe`, `--python-sandbox`): children
start as the same executable, so they work the same from a checkout and from a frozen build.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from app import __version__
from app.commands import UsageError
from app.engine.spawn import PROBE_FLAG, WORKER_FLAG
from app.errors import OssianError

SANDBOX_FLAG = "--python-sandbox"  # app.tools.sandbox.CHILD_FLAG, not imported: start-up stays light

log = logging.getLogger(__name__)

# What `ossian` may carry and still only start the window. With nothing else on the line, main() starts it
# without build_parser(): importing every subcommand's module to build `--help` pulled in most of the app
# (and each command's own libraries) before the first frame: over a second of a 2.1 s start-up.
WINDOW_FLAGS = frozenset({"-v", "--verbose"})

# Subcommands in the order `ossian --help` lists them; each module has register(subparsers).
COMMAND_MODULES: tuple[str, ...] = (
    "app.commands.doctor",
    "app.commands.chat",
    "app.commands.serve",
    "app.commands.models",
    "app.commands.harmony",
    "app.commands.plan",
    "app.commands.count",
    "app.commands.backends",
    "app.commands.mcp",
)

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ossian",
        description="Run OpenAI's gpt-oss models on your own computer. With no command, starts the app.",
    )
    parser.add_argument("--version", action="version", version=f"ossian {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="also write the log to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def _run_child(argv: Sequence[str]) -> int | None:
    """Serve as a worker child process when the first argument asks for it."""
    if not argv:
        return None
    if argv[0] == WORKER_FLAG:
        from app.engine.worker import serve

        return serve(list(argv[1:]))
    if argv[0] == PROBE_FLAG:
        from app.engine.worker_probe import main as probe_main

        return probe_main(list(argv[1:]))
    if argv[0] == SANDBOX_FLAG:  # frozen builds start the python tool's sandbox this way
        from app.tools.sandbox_child import main as sandbox_main

        return sandbox_main(list(argv[1:]))
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    child_status = _run_child(argv)
    if child_status is not None:
        return child_status
    if all(arg in WINDOW_FLAGS for arg in argv):  # the window: no subcommand's parser to build
        return _run_window(verbose=bool(argv))

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        return _run_window(verbose=args.verbose)
    _configure_logging(args.verbose, args.command)
    try:
        return int(args.handler(args) or 0)
    except UsageError as exc:
        parser.error(str(exc))
    except OssianError as exc:  # a CommandError, or a room's error: its sentence is the whole report
        print(f"ossian: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ossian: interrupted", file=sys.stderr)
        return 130
    return 0


def _configure_logging(verbose: bool, command: str) -> None:
    """Log to the log file (and stderr when `verbose`), starting with the version and the command."""
    from app.logsetup import configure_logging
    from app.paths import app_paths

    configure_logging(app_paths().log_file, verbose=verbose)
    log.info("ossian %s: %s", __version__, command)


def _run_window(*, verbose: bool) -> int:
    """Start the desktop app (the window's own imports happen here, not for a subcommand)."""
    _configure_logging(verbose, "gui")
    from app.ui.launch import run_gui

    return run_gui(argv=[sys.argv[0]])


def main_gui() -> int:
    """Entry point of the windowed launcher (no console on Windows)."""
    return main([])
