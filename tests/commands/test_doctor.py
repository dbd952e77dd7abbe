"""`ossian doctor` as a user runs it: a real subprocess, the real llama.cpp probe."""

import json
import os
import subprocess
import sys

from app import __version__
from tests.test_cli import ossian


def test_doctor_json_has_every_field(ossian_home) -> None:
    done = ossian("doctor", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["app"]["version"] == __version__
    llama = report["llama_cpp"]
    assert llama["available"] is True
    assert llama["llama_cpp_python_version"] == "0.3.36"
    assert isinstance(llama["gpu_offload"], bool)
    assert report["devices"], "llama.cpp always sees at least the CPU"
    for device in report["devices"]:
        assert device["memory_total"] >= device["memory_free"] >= 0
        assert device["type"] in {"cpu", "gpu", "igpu", "accel"}
    assert report["ram"]["total"] > report["ram"]["available"] > 0
    assert report["paths"]["models"].startswith(str(ossian_home))
    assert report["network"]["requests_at_startup"] is False
    assert report["network"]["downloads_allowed"] is True
    # this build's backends: in the development build linked in (the module build: tests/engine/test_vulkan)
    assert report["backends"] and all({"name", "path", "loaded"} <= set(b) for b in report["backends"])
    assert any(b["backend"] == "cpu" and b["loaded"] for b in report["backends"])
    assert isinstance(report["hints"], list)
    sandbox = report["sandbox"]
    assert sandbox["outcome"] == "ok"
    by_aspect = {entry["aspect"]: entry["by"] for entry in sandbox["protections"]}
    assert {"time", "memory", "network", "writes", "processes"} <= set(by_aspect)
    weak = [aspect for aspect, by in by_aspect.items() if by != "kernel" and aspect != "time"]
    # the summary names exactly what only the app's guard holds (Linux here: seccomp holds the processes)
    assert all(aspect in sandbox["summary"] for aspect in weak)
    assert ("only by the app" in sandbox["summary"]) == bool(weak)
    if sys.platform.startswith("linux"):
        assert by_aspect["processes"] == "kernel"


def test_an_nvidia_gpu_on_vulkan_without_cuda_gets_the_pack_hint() -> None:
    from app.commands.doctor import backend_hints
    from app.engine.probe import BackendStatus, ProbeDevice, ProbeReport

    gib = 2**30
    card = ProbeDevice(0, "Vulkan0", "NVIDIA GeForce RTX 3060", "gpu", 11 * gib, 12 * gib, backend="Vulkan")
    vulkan = BackendStatus("ggml-vulkan", "vulkan", "", "/app/ggml-backends/libggml-vulkan.so", True,
                           devices=1)
    probe = ProbeReport(devices=(card,), backends=(vulkan,), backend_folder="/app/ggml-backends")
    [hint] = backend_hints(probe)
    assert "NVIDIA GeForce RTX 3060 runs through Vulkan" in hint and "ossian backends install" in hint
    cuda = BackendStatus("ggml-cuda", "cuda", "", "/data/backends/ossian-cuda12/libggml-cuda.so", True,
                         devices=1)
    assert backend_hints(ProbeReport(devices=(card,), backends=(vulkan, cuda), backend_folder="/app")) == []
    broken = BackendStatus("ggml-vulkan", "vulkan", "", "/app/libggml-vulkan.so", False,
                           error="the Vulkan loader (libvulkan) is not installed")
    assert backend_hints(ProbeReport(backends=(broken,), backend_folder="/app")) == [
        "ggml-vulkan: the Vulkan loader (libvulkan) is not installed"]


def test_doctor_reports_offline_setting_and_endpoint(ossian_home) -> None:
    (ossian_home / "config").mkdir()
    (ossian_home / "config" / "settings.json").write_text(json.dumps({"offline_only": True}))
    done = subprocess.run([sys.executable, "-m", "app", "doctor"], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "HF_ENDPOINT": "http://127.0.0.1:9"})
    assert done.returncode == 0, done.stderr
    assert "switched off" in done.stdout
    assert "http://127.0.0.1:9 (HF_ENDPOINT environment variable)" in done.stdout
