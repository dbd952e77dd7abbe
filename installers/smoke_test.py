#!/usr/bin/env python3
"""Smoke-test a frozen Ossian build: the checks a release must pass before its installers are made.

    python3 installers/smoke_test.py --app dist/Ossian --tiny-model               # Linux, Windows
    python3 installers/smoke_test.py --app dist/Ossian.app --tiny-model           # macOS
    xvfb-run -a python3 installers/smoke_test.py --app dist/Ossian --gui 6 \\
        --screenshot build/smoke/gui.png                                          # Linux, no display

Checks, each in a throwaway OSSIAN_HOME so nothing of the user's is read or written:
- `ossian --version` names the version;
- `ossian doctor --json`: frozen, llama.cpp loads (its libraries were collected), a CPU device is seen
  (the `--worker-probe` child started as the same executable); when the bundle carries llama.cpp's
  backend modules (`ggml-backends/`, a release build), a CPU variant was chosen (`llama_cpp.cpu_variant`),
  from the bundle's own folder, every module is reported and no CPU module failed to open; with
  `--expect-vulkan` (or OSSIAN_SMOKE_EXPECT_VULKAN=1) a Vulkan device is among `devices`. Without a GPU,
  Mesa's lavapipe is one: `GGML_VK_VISIBLE_DEVICES=0 OSSIAN_ALLOW_SOFTWARE_GPU=1` (llama.cpp skips a
  CPU-type Vulkan device unless named; the app does unless allowed);
- with a model (`--model GGUF`, or `--tiny-model` to make the test suite's tiny gpt-oss with the
  project venv): `ossian chat --grammar ...` answers (the `--worker` child loads llama.cpp and generates);
- the python tool's sandbox child (`--python-sandbox`) runs code that imports the standard-library
  modules the bundle ships for it;
- on Windows, the windowed `ossian-gui.exe` as a child (probe, sandbox): its pipes must work too;
- with `--gui SECONDS`: the window starts, is still up after that long, and its log names nothing
  missing (a traceback, a resource file Qt cannot open); Linux needs a display: run under xvfb-run,
  with QT_QPA_PLATFORM=xcb to exercise the plugin a desktop uses.

Standard library only, so it runs with any Python 3.11 next to the build. Ends with "N passed, N failed"
and exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "pyinstaller"))
import ggml_modules  # noqa: E402  (what counts as a backend module, and where the bundle keeps them)

EXPECT_VULKAN_VARIABLE = "OSSIAN_SMOKE_EXPECT_VULKAN"
TIMEOUT_S = 180
GRAMMAR = 'root ::= <|channel|> "final" <|message|> [a-z ]{3,20}\n'
SANDBOX_CODE = (
    "import statistics, fractions, decimal, datetime, json, csv, re, itertools, collections\n"
    "print('sandbox', statistics.median([3, 1, 2]), fractions.Fraction(2, 4))\n"
)


class SmokeFailure(Exception):
    pass


def executables(app: Path) -> tuple[Path, Path]:
    """(console executable, windowed executable) of a build; the same file where the OS has one."""
    if app.suffix == ".app":
        exe = app / "Contents" / "MacOS" / "ossian"
        return exe, exe
    if os.name == "nt":
        return app / "ossian.exe", app / "ossian-gui.exe"
    return app / "ossian", app / "ossian"


def run(cmd: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess:
    print(f"  $ {' '.join(cmd)}", flush=True)
    done = subprocess.run(cmd, env=env, input=stdin, capture_output=True, text=True, encoding="utf-8",
                          errors="replace", timeout=TIMEOUT_S)
    if done.returncode != 0:
        raise SmokeFailure(f"exit status {done.returncode}\nstdout: {done.stdout[-2000:]}\n"
                           f"stderr: {done.stderr[-2000:]}")
    return done


def check_version(exe: Path, env: dict[str, str]) -> str:
    out = run([str(exe), "--version"], env).stdout.strip()
    if not re.fullmatch(r"ossian \d+\.\d+\.\d+\S*", out):
        raise SmokeFailure(f"unexpected --version output {out!r}")
    return out


def bundle_module_folder(app: Path) -> Path | None:
    """The bundle's `ggml-backends/` (onedir: `_internal/`; a .app: Frameworks or Resources), if any."""
    for folder in (app / "_internal", app / "Contents" / "Frameworks", app / "Contents" / "Resources", app):
        candidate = folder / ggml_modules.DEST
        if candidate.is_dir():
            return candidate
    return None


def bundle_modules(app: Path) -> list[str]:
    """File names of the backend modules the bundle carries ([] for a build with backends built in)."""
    folder = bundle_module_folder(app)
    if folder is None:
        return []
    return sorted(path.name for path in folder.iterdir() if ggml_modules.is_module(path.name))


def doctor_problems(report: dict, modules: list[str], expect_vulkan: bool = False) -> list[str]:
    """What is wrong with a frozen app's `doctor --json`, given the module files its bundle carries.
    Empty when all is well. Data only, so the tests feed it dicts."""
    problems = []
    if not report.get("app", {}).get("frozen"):
        problems.append("doctor says the app is not frozen: is this the built executable?")
    llama = report.get("llama_cpp", {})
    if not llama.get("available"):
        return [*problems, f"llama.cpp is not available: {llama.get('error')}"]
    devices = report.get("devices", [])
    if "cpu" not in [device.get("type") for device in devices]:
        problems.append(f"no CPU device among {devices}")
    backends = report.get("backends", [])
    if modules:
        if not llama.get("cpu_variant"):
            cpu = [f"{b.get('name')}: {b.get('error') or 'loaded'}" for b in backends
                   if b.get("backend") == "cpu"]
            problems.append(f"the bundle carries {len(modules)} backend modules but no CPU variant was "
                            f"chosen (llama_cpp.cpu_variant is empty; CPU modules: {cpu or 'none reported'})")
        folder = llama.get("backend_folder") or ""
        if folder and Path(folder.replace("\\", "/")).name != ggml_modules.DEST:
            problems.append(f"the modules were loaded from {folder}, "
                            f"not from the bundle's {ggml_modules.DEST}/")
        reported = {Path(str(b.get("path", "")).replace("\\", "/")).name for b in backends}
        unreported = [name for name in modules if name not in reported]
        if unreported:
            problems.append(f"modules in the bundle that doctor does not report: {', '.join(unreported)}")
        for backend in backends:
            # a CPU module opens on any x86-64 machine (its score says whether it can run here): one that
            # cannot be opened misses a library the bundle should carry
            error = str(backend.get("error") or "")
            unopened = not backend.get("loaded") and backend.get("score") is None
            if backend.get("backend") == "cpu" and unopened and error and not error.startswith("not chosen"):
                problems.append(f"{backend.get('name')} could not be opened: {backend['error']}")
    if expect_vulkan:
        vulkan = [d for d in devices if str(d.get("backend", "")).lower() == "vulkan"
                  or str(d.get("name", "")).lower().startswith("vulkan")]
        if not vulkan:
            why = [f"{b.get('name')}: {b.get('error') or 'loaded, ' + str(b.get('devices', 0)) + ' devices'}"
                   for b in backends if b.get("backend") == "vulkan"]
            problems.append(f"{EXPECT_VULKAN_VARIABLE}: no Vulkan device among "
                            f"{[d.get('name') for d in devices]} (Vulkan backend: {why or 'not reported'}); "
                            "without a GPU set GGML_VK_VISIBLE_DEVICES=0 OSSIAN_ALLOW_SOFTWARE_GPU=1 "
                            "for lavapipe")
    return problems


def doctor_summary(report: dict, modules: list[str]) -> str:
    llama = report["llama_cpp"]
    devices = [f"{d.get('name')} ({d.get('type')}{', ' + d['description'] if d.get('description') else ''})"
               for d in report.get("devices", [])]
    text = (f"llama.cpp {llama.get('llama_cpp_version')} "
            f"(llama-cpp-python {llama.get('llama_cpp_python_version')}),"
            f" gpu_offload={llama.get('gpu_offload')}, devices={devices}")
    if modules:
        loaded = [b["name"] for b in report.get("backends", []) if b.get("loaded")]
        text += (f"; {len(modules)} backend modules in the bundle, CPU variant {llama.get('cpu_variant')!r},"
                 f" loaded: {', '.join(loaded)}")
    return text


def check_doctor(exe: Path, env: dict[str, str], modules: list[str], expect_vulkan: bool) -> str:
    report = json.loads(run([str(exe), "doctor", "--json"], env).stdout)
    problems = doctor_problems(report, modules, expect_vulkan)
    if problems:
        raise SmokeFailure("\n".join(problems))
    return doctor_summary(report, modules)


def check_chat(exe: Path, env: dict[str, str], model: Path, scratch: Path) -> str:
    grammar = scratch / "final.gbnf"
    grammar.write_text(GRAMMAR, encoding="utf-8")
    done = run([str(exe), "chat", "--model", str(model), "--grammar", str(grammar), "--seed", "1",
                "--max-tokens", "64", "--stats", "hi"], env)
    answer = done.stdout.strip()
    if not re.fullmatch(r"[a-z ]{3,20}", answer):
        raise SmokeFailure(f"the answer {answer!r} does not follow the grammar; "
                           f"stderr: {done.stderr[-1500:]}")
    return f"answer {answer!r}; {done.stderr.strip().splitlines()[-1]}"


def check_probe(exe: Path, env: dict[str, str]) -> str:
    report = json.loads(run([str(exe), "--worker-probe"], env).stdout)
    if report.get("error"):
        raise SmokeFailure(f"probe error: {report['error']}")
    return f"{len(report['devices'])} device(s)"


def check_sandbox(exe: Path, env: dict[str, str], scratch: Path) -> str:
    root = Path(tempfile.mkdtemp(prefix="sandbox-", dir=scratch))
    work = root / "work"
    work.mkdir()
    # The fields of app.tools.sandbox._Run.config_json; "auto" takes what this OS offers.
    config = json.dumps({
        "workdir": str(work), "write_roots": [str(root)], "network": "auto", "writes": "auto",
        "memory_bytes": 1024 * 2**20, "cpu_seconds": 30, "file_bytes": 64 * 2**20,
        "allow_subprocesses": False,
    })
    done = run([str(exe), "--python-sandbox", config], env, stdin=SANDBOX_CODE)
    status, _, output = done.stdout.partition("\n")
    if "ready" not in status or "sandbox 2 1/2" not in output:
        raise SmokeFailure(f"unexpected sandbox output {done.stdout[-1500:]!r} {done.stderr[-1500:]!r}")
    protections = json.loads(status.split("ready", 1)[1])["protections"]
    return "protections: " + ", ".join(f"{k} by {v['by']}" for k, v in protections.items())


# Lines in the window's log that mean the bundle is missing something (a resource, a module).
GUI_LOG_FAILURES = ("Traceback (most recent call last)", "Cannot open file", "No module named")


def check_gui(exe: Path, console: Path, env: dict[str, str], seconds: float, screenshot: Path | None,
              model: Path | None) -> str:
    if sys.platform.startswith("linux") and not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        raise SmokeFailure("no display: run this under xvfb-run")
    if model:  # with a model in the library the window shows the model bar, not only the welcome page
        run([str(console), "models", "import", str(model)], env)
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen([str(exe), "--verbose"], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            time.sleep(seconds)
            exited = process.poll()
            shot = take_screenshot(screenshot) if screenshot and exited is None else ""
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        log.seek(0)
        text = log.read().decode(errors="replace")
    if exited is not None:
        raise SmokeFailure(f"the app exited with {exited} within {seconds} s:\n{text[-3000:]}")
    bad = [line for line in text.splitlines() if any(mark in line for mark in GUI_LOG_FAILURES)]
    if bad:
        raise SmokeFailure("the window's log shows something missing from the bundle:\n"
                           + "\n".join(bad[:10]))
    return f"up after {seconds} s, nothing missing in its log{shot}"


def take_screenshot(path: Path) -> str:
    """The whole screen into `path` with the OS's tool; a missing tool is a note, not a failure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if sys.platform == "darwin":
        command = ["screencapture", "-x", str(path)]
    elif shutil.which("import"):  # ImageMagick, on X11 and Xvfb
        command = ["import", "-window", "root", str(path)]
    else:
        return "; no screenshot tool (install imagemagick)"
    subprocess.run(command, check=False, timeout=60)
    return f"; screenshot {path}" if path.exists() else "; the screenshot failed"


def tiny_model() -> Path:
    """The test suite's tiny gpt-oss GGUF, made with the project venv (fixtures/tiny_models.py)."""
    sys.path.insert(0, str(HERE))
    from bootstrap import venv_dir, venv_python

    code = "from fixtures.tiny_models import tiny_gpt_oss_model; print(tiny_gpt_oss_model())"
    done = subprocess.run([str(venv_python(venv_dir())), "-c", code], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    return Path(done.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Smoke-test a frozen Ossian build.")
    parser.add_argument("--app", type=Path, default=ROOT / "dist" / ("Ossian.app" if sys.platform == "darwin"
                                                                      else "Ossian"),
                        help="the onedir folder or the .app (default: this OS's dist/ output)")
    parser.add_argument("--model", type=Path, help="a gpt-oss GGUF for the chat check")
    parser.add_argument("--tiny-model", action="store_true", help="make and use the test suite's tiny model")
    parser.add_argument("--gui", type=float, metavar="SECONDS", help="also start the window for this long")
    parser.add_argument("--screenshot", type=Path, help="with --gui: save the screen here")
    parser.add_argument("--expect-vulkan", action="store_true",
                        default=os.environ.get(EXPECT_VULKAN_VARIABLE) == "1",
                        help=f"doctor must list a Vulkan device (default: {EXPECT_VULKAN_VARIABLE}=1)")
    args = parser.parse_args(argv)

    app = args.app.resolve()
    console, windowed = executables(app)
    if not console.exists():
        parser.error(f"no executable at {console}")
    modules = bundle_modules(app)
    print(f"backend modules in the bundle: {', '.join(modules) or 'none (backends built into llama.cpp)'}")
    model = args.model or (tiny_model() if args.tiny_model else None)
    scratch = Path(tempfile.mkdtemp(prefix="ossian-smoke-"))
    env = dict(os.environ, OSSIAN_HOME=str(scratch / "home"), PYTHONIOENCODING="utf-8")
    env.pop("OSSIAN_BACKEND_DIR", None)  # the bundle's own modules, not a folder named from outside

    checks: list[tuple[str, Callable[[], str]]] = [
        ("--version", lambda: check_version(console, env)),
        ("doctor --json", lambda: check_doctor(console, env, modules, args.expect_vulkan)),
        ("python sandbox child", lambda: check_sandbox(console, env, scratch)),
    ]
    if model:
        checks.append(("chat with a grammar", lambda: check_chat(console, env, model, scratch)))
    if windowed != console:
        checks += [("windowed exe as probe child", lambda: check_probe(windowed, env)),
                   ("windowed exe as sandbox child", lambda: check_sandbox(windowed, env, scratch))]
    if args.gui:
        checks.append(("window", lambda: check_gui(windowed, console, env, args.gui, args.screenshot, model)))

    passed = failed = 0
    for name, check in checks:
        print(f"- {name}", flush=True)
        try:
            detail = check()
        except (SmokeFailure, subprocess.TimeoutExpired, json.JSONDecodeError, KeyError) as exc:
            failed += 1
            print(f"  FAIL: {exc}", flush=True)
        else:
            passed += 1
            print(f"  ok: {detail}", flush=True)
    shutil.rmtree(scratch, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
