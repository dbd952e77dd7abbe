"""The `ossian` command as a user runs it: a real subprocess."""

import subprocess
import sys

from app import __version__


def ossian(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=120)


def test_version() -> None:
    done = ossian("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"ossian {__version__}"


def test_verbose_mirrors_log_to_stderr(ossian_home) -> None:
    done = ossian("--verbose", "doctor", "--json")
    assert "app.cli: ossian" in done.stderr
    assert (ossian_home / "logs" / "ossian.log").read_text().count("doctor") >= 1


def test_unknown_command_is_a_usage_error() -> None:
    done = ossian("frobnicate")
    assert done.returncode == 2
    assert "invalid choice" in done.stderr


def test_child_flags_match_their_owners() -> None:
    from app import cli
    from app.tools import CHILD_FLAG

    assert cli.SANDBOX_FLAG == CHILD_FLAG
