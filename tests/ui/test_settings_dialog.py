"""The settings dialog edits the real settings file through a real workspace."""

from __future__ import annotations

import json

import pytest

from app.chat.workspace import Workspace
from app.models import NetworkDisabled
from app.ui.settings_dialog import SettingsDialog


@pytest.fixture
def workspace():
    workspace = Workspace(read_machine=lambda: None)  # type: ignore[arg-type, return-value]
    yield workspace
    workspace.close()


def open_dialog(qtbot, workspace) -> SettingsDialog:
    dialog = SettingsDialog(workspace)
    qtbot.addWidget(dialog)
    return dialog


def test_saving_writes_the_file_and_announces_it(qtbot, workspace) -> None:
    dialog = open_dialog(qtbot, workspace)
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    dialog.effort.setCurrentIndex(dialog.effort.findData("high"))
    dialog.context.setCurrentIndex(dialog.context.findData(65536))
    dialog.ask_python.setChecked(False)
    dialog.offline.setChecked(True)
    with qtbot.waitSignal(dialog.settingsChanged):
        dialog._save()
    saved = json.loads(workspace.paths.settings_file.read_text())
    assert saved["theme"] == "dark" and saved["reasoning_effort"] == "high"
    assert saved["context_tokens"] == 65536 and saved["python_tool_approval"] == "always"
    assert saved["offline_only"] is True
    assert workspace.settings.offline_only is True


def test_never_use_the_network_takes_effect_for_downloads_at_once(qtbot, workspace) -> None:
    dialog = open_dialog(qtbot, workspace)
    dialog.offline.setChecked(True)
    dialog._save()
    with pytest.raises(NetworkDisabled, match="never use the network"):
        workspace.downloads.access.connect()


def test_a_bad_hub_address_is_refused_and_nothing_is_saved(qtbot, workspace) -> None:
    dialog = open_dialog(qtbot, workspace)
    dialog.endpoint.setText("ftp://mirror.example")
    dialog._save()
    assert "https://" in dialog.error.text() and not dialog.error.isHidden()
    assert not workspace.paths.settings_file.exists()
    assert workspace.settings.hf_endpoint is None


def test_controls_start_from_the_current_settings(qtbot, workspace) -> None:
    workspace.settings.theme = "light"
    workspace.settings.context_tokens = 12000  # not one of the choices: still shown, not lost
    dialog = open_dialog(qtbot, workspace)
    assert dialog.theme.currentData() == "light"
    assert dialog.context.currentData() == 12000
    assert dialog.chosen().context_tokens == 12000


def test_a_gpu_can_be_pinned_and_the_next_plan_uses_it_alone(qtbot) -> None:
    from app.planner import Gpu, Machine

    gib = 2**30
    big = Gpu("CUDA0", "NVIDIA GeForce RTX 4090", "gpu", 23 * gib, 24 * gib, backend="CUDA", device_id="a")
    small = Gpu("Vulkan1", "AMD Radeon RX 7600", "gpu", 7 * gib, 8 * gib, backend="Vulkan", device_id="b")
    lavapipe = Gpu("Vulkan2", "llvmpipe (LLVM 15.0.6, 256 bits)", "gpu", 2 * gib, 2 * gib, backend="Vulkan",
                   software=True)
    machine = Machine(gpus=(big, small, lavapipe), ram_total=64 * gib, ram_available=60 * gib)
    workspace = Workspace(read_machine=lambda: machine)
    try:
        assert workspace.machine().usable_gpus == (big, small)
        dialog = open_dialog(qtbot, workspace)
        labels = [dialog.gpu.itemText(i) for i in range(dialog.gpu.count())]
        assert labels[0].startswith("Automatic") and "software renderer, not used" in labels[3]
        dialog.gpu.setCurrentIndex(dialog.gpu.findData("Vulkan1"))
        with qtbot.waitSignal(dialog.settingsChanged):
            dialog._save()
        assert json.loads(workspace.paths.settings_file.read_text())["gpu_device"] == "Vulkan1"
        assert workspace.machine().usable_gpus == (small,)
        # a pinned device that is gone stays visible in the dialog rather than silently dropped
        workspace.settings = workspace.settings.__class__(gpu_device="CUDA5")
        again = open_dialog(qtbot, workspace)
        assert again.gpu.currentText() == "CUDA5 (not found now)"
    finally:
        workspace.close()


def test_an_nvidia_gpu_on_vulkan_is_offered_the_cuda_pack(qtbot, monkeypatch, tmp_path) -> None:
    """The button downloads this release's pack from a real HTTP server (loopback), checks it and installs
    it; where no NVIDIA GPU runs through Vulkan there is no button."""
    import functools
    import importlib.metadata
    import threading
    from http.server import ThreadingHTTPServer

    from app.engine.backend_packs import pack_folders, platform_key
    from app.models import pack_download
    from app.planner import Gpu, Machine
    from tests.engine.test_backend_packs import make_pack
    from tests.models.test_pack_download import Quiet, publish

    release = tmp_path / "release"
    release.mkdir()
    archive = make_pack(tmp_path, platform=platform_key(),
                        llama_cpp_python=importlib.metadata.version("llama-cpp-python"))
    publish(release, archive)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(release)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(pack_download, "RELEASES", f"http://127.0.0.1:{server.server_address[1]}")
    from app import __version__

    (release / f"v{__version__}").mkdir()  # the release's own folder, as the download address has it
    for name in (archive.name, f"{archive.name}.sha256"):
        (release / name).rename(release / f"v{__version__}" / name)

    gib = 2**30
    card = Gpu("Vulkan0", "NVIDIA GeForce RTX 4070", "gpu", 11 * gib, 12 * gib, backend="Vulkan")
    offered = Machine(gpus=(card,), ram_total=32 * gib, ram_available=30 * gib, cuda_pack_offered=True)
    workspace = Workspace(read_machine=lambda: offered)
    try:
        workspace.machine()
        dialog = open_dialog(qtbot, workspace)
        assert dialog.cuda_button.isVisibleTo(dialog)
        with qtbot.waitSignal(dialog._cuda.finished, timeout=30_000) as done:
            dialog.cuda_button.click()
        assert done.args == [""]
        assert "installed and checked" in dialog.cuda_status.text()
        assert [f.name for f in pack_folders()] == ["ossian-cuda12"]
    finally:
        workspace.close()
        server.shutdown()
        server.server_close()
    plain = Workspace(read_machine=lambda: Machine(gpus=(card,), ram_total=32 * gib, ram_available=30 * gib))
    try:
        plain.machine()
        assert not open_dialog(qtbot, plain).cuda_button.isVisibleTo(None)
    finally:
        plain.close()
