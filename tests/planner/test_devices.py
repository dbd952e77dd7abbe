"""Reading the machine: llama.cpp's own device list here (a CPU-only build), the fallbacks, descriptions."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from app.engine.probe import ProbeReport, run_probe
from app.gguf import GgufProfile
from app.planner import describe_machine, detect_machine, make_plan
from app.planner.device_fallbacks import amd_driver_version, amd_sysfs_gpus, nvml_gpus

GIB = 2**30


def test_this_cpu_only_build_is_read_through_llama_cpp(profile_20b: GgufProfile) -> None:
    probe = run_probe()
    assert probe.error is None
    if probe.supports_gpu_offload:
        pytest.skip("this llama.cpp build can offload to a GPU; the test is about CPU-only builds")
    machine = detect_machine(probe)
    assert machine.source == "llama.cpp" and not machine.gpu_offload and machine.usable_gpus == ()
    assert machine.ram_total == psutil.virtual_memory().total
    assert 0 < machine.ram_available <= machine.ram_total
    assert f"llama.cpp {probe.llama_cpp}" in machine.runtime and "llama-cpp-python 0.3.36" in machine.runtime
    assert "this llama.cpp build is CPU only" in machine.notes
    plan = make_plan(profile_20b, machine)
    assert plan.mode == "cpu" and plan.load.n_gpu_layers == 0
    assert plan.explanation.startswith("This llama.cpp build is CPU only: gpt-oss-20b runs on the CPU")


def test_a_failed_probe_falls_back_to_the_drivers() -> None:
    machine = detect_machine(ProbeReport(error="the llama.cpp probe exited with status 134: Aborted"))
    assert machine.source == "psutil" and machine.gpus == ()  # no NVIDIA or AMD driver here
    assert machine.notes[0].endswith("status 134: Aborted")
    assert "no GPU found" in machine.notes
    assert machine.ram_total == psutil.virtual_memory().total


def test_nvml_is_absent_here() -> None:
    assert nvml_gpus() == ()


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


def test_amd_gpus_from_sysfs(tmp_path: Path) -> None:
    card0 = tmp_path / "card0" / "device"
    write(card0 / "vendor", "0x1002")
    write(card0 / "mem_info_vram_total", str(16 * GIB))
    write(card0 / "mem_info_vram_used", str(GIB))
    write(card0 / "product_name", "Radeon RX 7800 XT")
    (tmp_path / "card0-DP-1").mkdir()  # a connector, not a card
    write(tmp_path / "card1" / "device" / "vendor", "0x8086")  # an Intel card: not amdgpu's
    write(tmp_path / "card1" / "device" / "mem_info_vram_total", str(8 * GIB))
    apu = tmp_path / "card2" / "device"
    write(apu / "vendor", "0x1002")
    write(apu / "mem_info_vram_total", str(512 * 2**20))
    write(apu / "mem_info_vram_used", "0")
    write(apu / "mem_info_gtt_total", str(16 * GIB))
    gpus = amd_sysfs_gpus(tmp_path)
    assert [(g.description, g.kind, g.memory_free, g.memory_total) for g in gpus] == [
        ("Radeon RX 7800 XT", "gpu", 15 * GIB, 16 * GIB),
        ("AMD GPU (card2)", "igpu", 512 * 2**20, 512 * 2**20),
    ]
    assert amd_sysfs_gpus(tmp_path / "nothing-here") == ()


def test_amd_driver_version(tmp_path: Path) -> None:
    write(tmp_path / "version", "6.10.5")
    assert amd_driver_version(tmp_path / "version") == "amdgpu 6.10.5"
    assert amd_driver_version(tmp_path / "absent") == ""


def test_described_machines() -> None:
    card = describe_machine(gpu_total=24 * GIB, ram=64 * GIB)
    assert card.gpus[0].memory_total == 24 * GIB and card.gpus[0].memory_free == int(23.5 * GIB)
    assert card.ram_available == card.ram_total == 64 * GIB and card.source == "described"
    assert describe_machine(gpu_free=10 * GIB).gpus[0].memory_total == 10 * GIB
    mac = describe_machine(unified=True, ram=128 * GIB)
    assert mac.unified_memory and mac.gpus[0].memory_free == 96 * GIB  # the GPU may use 75% of it
    small_mac = describe_machine(unified=True, ram=16 * GIB)
    assert small_mac.gpus[0].memory_free == int(16 * GIB * 2 / 3)
    cpu = describe_machine(ram=32 * GIB)
    assert cpu.gpus == () and not cpu.gpu_offload


def test_an_nvidia_gpu_on_vulkan_is_offered_the_cuda_pack() -> None:
    from app.engine.probe import BackendStatus, ProbeDevice

    gib = 2**30
    card = ProbeDevice(0, "Vulkan0", "NVIDIA GeForce RTX 4070", "gpu", 11 * gib, 12 * gib, backend="Vulkan")
    vulkan = BackendStatus("ggml-vulkan", "vulkan", "", "/app/ggml-backends/libggml-vulkan.so", True,
                           devices=1)
    probe = ProbeReport(supports_gpu_offload=True, devices=(card,), backends=(vulkan,),
                        backend_folder="/app/ggml-backends")
    machine = detect_machine(probe)
    assert machine.usable_gpus[0].name == "Vulkan0"
    assert any("ossian backends install cuda12" in note for note in machine.notes)
    cuda = BackendStatus("ggml-cuda", "cuda", "", "/data/backends/ossian-cuda12/libggml-cuda.so", True,
                         devices=1)
    with_cuda = detect_machine(replace(probe, backends=(vulkan, cuda)))
    assert not any("cuda12" in note for note in with_cuda.notes)
