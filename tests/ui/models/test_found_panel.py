"""'Already on this computer' on the welcome page and in the library dialog, on a real workspace: the other
apps' stores are built in the test's user home (tests/conftest.py points the scan there), the scan runs
for real in the background, "Use it" records the file in place, an unusable one offers the GGUF."""

from __future__ import annotations

import os
from pathlib import Path

from app.models import InstalledModel, scan_found
from app.ui.models import ModelLibraryDialog, WelcomePage
from app.ui.models.library_dialog import DOWNLOAD_TAB
from app.ui.models.presenting import found_view, installed_detail, kept_by_note
from fixtures.hub_server import HubServer
from fixtures.other_apps import hub_cache_repo, ollama_model, ollama_own_gpt_oss, openai_checkpoint
from fixtures.tiny_models import tiny_gpt_oss_model
from tests.ui.models.conftest import WAIT_MS

FILE_20B = "gpt-oss-20b-mxfp4.gguf"


def user_home(ossian_home: Path) -> Path:
    return ossian_home / "user-home"  # where tests/conftest.py makes the scan look


def build_stores(ossian_home: Path, tmp_path: Path) -> Path:
    """A usable GGUF in the Hub cache, the original checkpoint, and Ollama's own conversion."""
    home = user_home(ossian_home)
    snapshot = hub_cache_repo(home / ".cache/huggingface/hub", "ggml-org/gpt-oss-20b-GGUF",
                              {FILE_20B: tiny_gpt_oss_model()})
    openai_checkpoint(home / ".cache/huggingface/hub")
    ollama_model(home / ".ollama/models", "gpt-oss", "20b", ollama_own_gpt_oss(tmp_path / "ollama.gguf"))
    return snapshot / FILE_20B


def open_page(qtbot, workspace, theme) -> WelcomePage:
    page = WelcomePage(workspace, theme)
    qtbot.addWidget(page)
    page.resize(900, 1200)
    page.show()
    qtbot.waitUntil(lambda: page.found_panel.scanned and page.hero_row is not None, timeout=WAIT_MS)
    return page


# -- the words, without Qt ------------------------------------------------------------------------------


def test_each_found_model_gets_one_action_or_its_reason(ossian_home: Path, tmp_path: Path) -> None:
    build_stores(ossian_home, tmp_path)
    usable, checkpoint, converted = scan_found()

    use = found_view(usable)
    assert (use.action, use.action_text, use.badge) == ("use", "Use it", "Hugging Face cache")
    assert use.title == "gpt-oss-20b-mxfp4" and use.detail == "MXFP4 · 402 KiB · ggml-org/gpt-oss-20b-GGUF"
    assert "nothing is copied" in use.status
    instead = found_view(checkpoint)
    assert (instead.action, instead.download_id, instead.tone) == ("download", "gpt-oss-20b", "warning")
    assert instead.status == checkpoint.reason and instead.title == "openai/gpt-oss-20b"
    ollama = found_view(converted)
    assert ollama.title == "gpt-oss:20b" and ollama.badge == "Ollama" and "gptoss" in ollama.status


def test_a_model_another_app_keeps_says_so_and_what_that_app_may_do(tmp_path: Path) -> None:
    model = InstalledModel(id="ollama--x", name="hf.co/ggml-org/gpt-oss-20b-GGUF:latest",
                           quantization="MXFP4_MOE", size=12 * 2**30, parts=(tmp_path / "sha256-ab",),
                           verified=False, source="import", kept_by="ollama")
    assert installed_detail(model) == "MXFP4_MOE · 12 GiB · used in place (Ollama)"
    assert kept_by_note(model).startswith("Ollama keeps this file: `ollama rm hf.co/ggml-org/gpt-oss-20b")
    assert "shows the model as missing" in kept_by_note(model)
    own = InstalledModel(id="import--y", name="y", quantization=None, size=1, parts=(tmp_path / "y.gguf",),
                         verified=False, source="import")
    assert kept_by_note(own) == "" and installed_detail(own).endswith("imported")


# -- the welcome page -------------------------------------------------------------------------------------


def test_the_welcome_page_offers_what_is_on_disk_and_uses_it_in_place(
        qtbot, workspace, theme, ossian_home: Path, tmp_path: Path) -> None:
    link = build_stores(ossian_home, tmp_path)
    page = open_page(qtbot, workspace, theme)
    panel = page.found_panel

    assert panel.isVisible() and [row.view.action for row in panel.rows] == ["use", "download", "download"]
    usable = panel.rows[0]
    assert usable.action_button.text() == "Use it" and usable.badge.text() == "Hugging Face cache"
    assert "only Ollama's engine runs it" in panel.rows[2].status.text()

    with qtbot.waitSignal(panel.imported, timeout=WAIT_MS) as imported:
        usable.action_button.click()
    model = imported.args[0]
    assert model.path == link and model.kept_by == "hub-cache" and model.catalog_id == "gpt-oss-20b"
    assert not any(p.suffix == ".gguf" for p in workspace.paths.models.rglob("*"))  # nothing copied
    assert usable.view.action == "load" and usable.action_button.text() == "Load"
    # The catalog's gpt-oss-20b is now installed: its row offers Load, not a second 11 GiB download
    assert page.hero_row.key == "gpt-oss-20b" and page.hero_row.view.phase == "installed"
    with qtbot.waitSignal(page.loadRequested, timeout=WAIT_MS) as load:
        usable.action_button.click()
    assert load.args == [str(link)]


def test_a_page_with_nothing_found_shows_no_panel(qtbot, workspace, theme) -> None:
    page = open_page(qtbot, workspace, theme)
    assert not page.found_panel.isVisible() and page.found_panel.rows == []


# -- the library dialog -------------------------------------------------------------------------------------


def test_the_library_offers_the_gguf_for_a_checkpoint_and_warns_on_kept_files(
        qtbot, published: HubServer, workspace, theme, ossian_home: Path, tmp_path: Path) -> None:
    link = build_stores(ossian_home, tmp_path)
    dialog = ModelLibraryDialog(workspace, theme)
    qtbot.addWidget(dialog)
    dialog.show()
    panel = dialog.found_panel
    qtbot.waitUntil(lambda: panel.scanned and dialog.advice is not None, timeout=WAIT_MS)

    checkpoint = panel.rows[1]
    assert checkpoint.action_button.text() == "Download the GGUF"
    checkpoint.action_button.click()
    assert dialog.tabs.currentIndex() == DOWNLOAD_TAB
    qtbot.waitUntil(lambda: dialog.catalog_rows["gpt-oss-20b"].view.phase in ("downloading", "verifying",
                                                                              "done"), timeout=WAIT_MS)

    with qtbot.waitSignal(panel.imported, timeout=WAIT_MS):
        panel.rows[0].action_button.click()
    qtbot.waitUntil(lambda: any(card.model.kept_by for card in dialog.cards.values()), timeout=WAIT_MS)
    card = next(card for card in dialog.cards.values() if card.model.kept_by)
    assert card.model.path == link and "Hugging Face cache keeps this file" in card.kept_by.text()
    assert not card.kept_by.isHidden()
    assert "used in place (Hugging Face cache)" in card.detail.text()

    os.unlink(os.path.realpath(link))  # the cache was cleaned: the model is missing, not an error at load
    dialog.refresh()
    card = next(card for card in dialog.cards.values() if card.model.kept_by)
    assert not card.load_button.isEnabled() and "Missing from disk" in card.status.text()
