"""The smoke test's judgement of a frozen app's `doctor --json`, fed reports as dicts (no frozen build).

The reports follow app/commands/doctor.py's shape: `llama_cpp.cpu_variant`, `llama_cpp.backend_folder`,
a top-level `backends` list and `devices`.
"""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_smoke_test():
    spec = importlib.util.spec_from_file_location("ossian_smoke_test", ROOT / "installers" / "smoke_test.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["ossian_smoke_test"] = module
    spec.loader.exec_module(module)
    return module


smoke = load_smoke_test()

FOLDER = "/opt/ossian/_internal/ggml-backends"
MODULES = ["libggml-cpu-haswell.so", "libggml-cpu-skylakex.so", "libggml-cpu-x64.so", "libggml-vulkan.so"]
CPU_DEVICE = {"index": 0, "name": "CPU", "description": "Intel Xeon", "type": "cpu", "memory_free": 1,
              "memory_total": 2, "backend": "CPU", "software": False}
LAVAPIPE = {"index": 1, "name": "Vulkan0", "description": "llvmpipe (LLVM 15.0.6, 256 bits)", "type": "gpu",
            "memory_free": 1, "memory_total": 2, "backend": "Vulkan", "software": True}


def release_report() -> dict:
    """A frozen release build on a machine with AVX2 but no AVX-512, no Vulkan driver."""
    return {
        "app": {"version": "0.1.0", "frozen": True},
        "llama_cpp": {"available": True, "llama_cpp_version": "0.5.0", "llama_cpp_python_version": "0.3.36",
                      "gpu_offload": True, "cpu_variant": "haswell", "backend_folder": FOLDER},
        "backends": [
            {"name": "ggml-vulkan", "backend": "vulkan", "variant": "", "path": f"{FOLDER}/libggml-vulkan.so",
             "loaded": True, "score": None, "devices": 0, "error": "loaded, but no usable Vulkan GPU"},
            {"name": "ggml-cpu-haswell", "backend": "cpu", "variant": "haswell",
             "path": f"{FOLDER}/libggml-cpu-haswell.so", "loaded": True, "score": 64, "devices": 1},
            {"name": "ggml-cpu-skylakex", "backend": "cpu", "variant": "skylakex",
             "path": f"{FOLDER}/libggml-cpu-skylakex.so", "loaded": False, "score": 0, "devices": 0,
             "error": "not chosen: this CPU lacks the instructions it needs"},
            {"name": "ggml-cpu-x64", "backend": "cpu", "variant": "x64",
             "path": f"{FOLDER}/libggml-cpu-x64.so", "loaded": False, "score": 1, "devices": 0,
             "error": "not chosen: haswell scored higher"},
        ],
        "devices": [CPU_DEVICE],
    }


def dev_report() -> dict:
    """The development CPU build frozen: backends linked in, no variant, no modules in the bundle."""
    report = release_report()
    report["llama_cpp"].update(cpu_variant="", backend_folder="")
    report["backends"] = [{"name": "CPU", "backend": "cpu", "variant": "", "path": "", "loaded": True,
                           "score": None, "devices": 1}]
    return report


def test_a_good_release_report_passes() -> None:
    assert smoke.doctor_problems(release_report(), MODULES) == []
    summary = smoke.doctor_summary(release_report(), MODULES)
    assert "'haswell'" in summary and "4 backend modules" in summary


def test_a_build_without_modules_needs_no_cpu_variant() -> None:
    assert smoke.doctor_problems(dev_report(), []) == []


def test_modules_in_the_bundle_but_no_cpu_variant_fails() -> None:
    report = release_report()
    report["llama_cpp"]["cpu_variant"] = ""

    problems = smoke.doctor_problems(report, MODULES)

    assert any("no CPU variant was chosen" in p for p in problems)


def test_the_dev_report_fails_when_the_bundle_carries_modules() -> None:
    """A bundle with modules whose app still says "built in": the modules were never loaded."""
    problems = smoke.doctor_problems(dev_report(), MODULES)
    assert any("no CPU variant" in p for p in problems)
    assert any("does not report" in p for p in problems)


def test_modules_loaded_from_somewhere_else_fail() -> None:
    report = release_report()
    report["llama_cpp"]["backend_folder"] = "/home/me/venv/lib/python3.11/site-packages/bin"

    assert any("not from the bundle's ggml-backends" in p for p in smoke.doctor_problems(report, MODULES))


def test_a_module_the_report_leaves_out_fails() -> None:
    problems = smoke.doctor_problems(release_report(), [*MODULES, "libggml-cpu-zen4.so"])
    assert problems == ["modules in the bundle that doctor does not report: libggml-cpu-zen4.so"]


def test_a_cpu_module_that_cannot_be_opened_fails_but_vulkan_without_a_loader_does_not() -> None:
    report = release_report()
    report["backends"][3].update(score=None, error="libgomp.so.1: cannot open shared object file")
    report["backends"][0].update(loaded=False, error="the Vulkan loader (libvulkan) is not installed")

    problems = smoke.doctor_problems(report, MODULES)

    assert problems == ["ggml-cpu-x64 could not be opened: libgomp.so.1: cannot open shared object file"]


def test_basic_failures_still_count() -> None:
    report = release_report()
    report["app"]["frozen"] = False
    report["devices"] = []
    problems = smoke.doctor_problems(report, MODULES)
    assert any("not frozen" in p for p in problems)
    assert any("no CPU device" in p for p in problems)

    report = release_report()
    report["llama_cpp"] = {"available": False, "error": "Shared library with base name 'llama' not found"}
    assert smoke.doctor_problems(report, MODULES)[-1].startswith("llama.cpp is not available")


def test_expecting_vulkan_needs_a_vulkan_device() -> None:
    report = release_report()

    problems = smoke.doctor_problems(report, MODULES, expect_vulkan=True)

    assert len(problems) == 1
    assert "no Vulkan device" in problems[0] and "no usable Vulkan GPU" in problems[0]
    assert "GGML_VK_VISIBLE_DEVICES=0" in problems[0]

    report["devices"].append(LAVAPIPE)
    report["backends"][0].update(devices=1)
    del report["backends"][0]["error"]
    assert smoke.doctor_problems(report, MODULES, expect_vulkan=True) == []


def test_the_vulkan_device_may_be_known_by_its_name_only() -> None:
    report = release_report()
    device = dict(LAVAPIPE, backend="")
    report["devices"].append(device)
    assert smoke.doctor_problems(report, MODULES, expect_vulkan=True) == []


def test_windows_paths_are_understood() -> None:
    report = release_report()
    folder = r"C:\Users\me\AppData\Local\Programs\Ossian\_internal\ggml-backends"
    report["llama_cpp"]["backend_folder"] = folder
    for backend in report["backends"]:
        name = Path(backend["path"]).name.removeprefix("lib").replace(".so", ".dll")
        backend["path"] = folder + "\\" + name
    modules = [name.removeprefix("lib").replace(".so", ".dll") for name in MODULES]

    assert smoke.doctor_problems(report, modules) == []


def test_the_bundle_folder_is_found_in_each_layout(tmp_path) -> None:
    onedir = tmp_path / "Ossian"
    (onedir / "_internal" / "ggml-backends").mkdir(parents=True)
    for name in [*MODULES, "README.txt"]:
        (onedir / "_internal" / "ggml-backends" / name).write_bytes(b"")
    app = tmp_path / "Ossian.app"
    (app / "Contents" / "Frameworks").mkdir(parents=True)

    assert smoke.bundle_modules(onedir) == sorted(MODULES)
    assert smoke.bundle_modules(app) == []
    assert smoke.bundle_module_folder(app) is None


@pytest.mark.parametrize("value, expected", [("1", True), ("", False), ("0", False)])
def test_the_environment_variable_turns_the_vulkan_check_on(monkeypatch, tmp_path, value, expected) -> None:
    monkeypatch.setenv(smoke.EXPECT_VULKAN_VARIABLE, value)
    seen = {}

    def fake_doctor(exe, env, modules, expect_vulkan):
        seen["expect_vulkan"] = expect_vulkan
        seen["backend_dir"] = env.get("OSSIAN_BACKEND_DIR")
        return "ok"

    monkeypatch.setattr(smoke, "check_doctor", fake_doctor)
    monkeypatch.setattr(smoke, "check_version", lambda exe, env: "ok")
    monkeypatch.setattr(smoke, "check_sandbox", lambda exe, env, scratch: "ok")
    monkeypatch.setattr(smoke, "check_probe", lambda exe, env: "ok")
    monkeypatch.setenv("OSSIAN_BACKEND_DIR", "/elsewhere")
    app = tmp_path / "Ossian"
    app.mkdir()
    for name in ("ossian", "ossian.exe", "ossian-gui.exe"):
        (app / name).write_bytes(b"")

    assert smoke.main(["--app", str(app)]) == 0
    assert seen == {"expect_vulkan": expected, "backend_dir": None}


def test_a_failing_report_fails_the_check(monkeypatch) -> None:
    report = copy.deepcopy(release_report())
    report["llama_cpp"]["cpu_variant"] = ""

    class Done:
        stdout = __import__("json").dumps(report)

    monkeypatch.setattr(smoke, "run", lambda cmd, env, stdin=None: Done())

    with pytest.raises(smoke.SmokeFailure, match="no CPU variant"):
        smoke.check_doctor(Path("ossian"), {}, MODULES, expect_vulkan=False)
