"""Screenshots of the whole window in its main states, for the README and docs/screenshots/.

    xvfb-run -a .venv/bin/python bench/screenshots_app.py [--out docs/screenshots]

The real window, the real store and planner, a real (tiny, generated) GGUF in the library; the replies
come from the scripted engine (the real weights cannot be downloaded here), replayed through the real
parser, chat loop and widgets. States: a finished answer with reasoning, Markdown, code and a table; a
python tool call waiting for approval; the same in dark.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ANSWER = """## Sliding-window attention, briefly

gpt-oss alternates two kinds of attention layers:

1. **Full attention** layers see the whole context, so their KV cache grows with `n_ctx`.
2. **Sliding-window** layers only look back **128 tokens**, so their cache stays small.

| layers | cache at 32K (f16) |
| --- | --- |
| 12 full | 768 MiB |
| 12 sliding | 18 MiB |

That is why Ossian loads gpt-oss-20b with `swa_full=False`:

```python
def kv_bytes(n_ctx: int, full_layers: int = 12) -> int:
    per_token = 2 * 8 * 64 * 2  # K and V, 8 KV heads, head size 64, f16
    return full_layers * n_ctx * per_token
```

Halving the context halves only the full-attention part."""

REASONING = ("The user asks why the KV cache of gpt-oss is smaller than expected. Half of the layers use "
             "a sliding window of 128 tokens, the other half full attention. With swa_full=False the "
             "sliding layers keep only the window. Give the arithmetic and a short table.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--font", default="", help="UI font (default: the system's)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="ossian-shots-"))
    os.environ["OSSIAN_HOME"] = str(home)

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtGui import QFont
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    if args.font:
        app.setFont(QFont(args.font))

    from app.chat.workspace import Workspace
    from app.engine.testing import ScriptedEngine, harmony_reply
    from app.models import import_model
    from app.ui.main_window import MainWindow
    from app.ui.theme import DARK, LIGHT, ThemeWatcher
    from fixtures.tiny_models import tiny_gpt_oss_model

    engine = ScriptedEngine(tokens_per_second=4000)
    workspace = Workspace(engine_factory=lambda: engine)
    model = import_model(tiny_gpt_oss_model(), workspace.library)

    def settle(ms: int = 400) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def wait_until(condition, timeout_ms: int = 20000) -> None:
        waited = 0
        while not condition() and waited < timeout_ms:
            settle(50)
            waited += 50

    watcher = ThemeWatcher("light")
    window = MainWindow(workspace, watcher)
    window.resize(1280, 860)
    window.show()
    window.load_model(str(model.path))
    wait_until(lambda: workspace.loaded is not None)
    settle()

    engine.queue(harmony_reply([("analysis", REASONING), ("final", ANSWER)]))
    window.composer.set_text("Why is the KV cache of gpt-oss-20b so small at long contexts?")
    window.composer.sendRequested.emit(window.composer.text())
    wait_until(lambda: not window.controller.busy)
    settle(800)
    window.grab().save(str(args.out / "app-answer-light.png"))

    for palette, name in ((DARK, "dark"),):
        window._apply_theme(watcher.theme.with_scheme(palette.scheme))
        settle(600)
        window.grab().save(str(args.out / f"app-answer-{name}.png"))
    window._apply_theme(watcher.theme.with_scheme(LIGHT.scheme))

    conversation = window.controller.conversation_id
    settings = workspace.store.get_conversation(conversation).settings
    workspace.store.update_conversation(conversation, settings={**settings, "tools": {"python": True}})
    window.new_chat()
    window.open_conversation(conversation)
    engine.queue(harmony_reply([
        ("analysis", "Compute it exactly instead of guessing."),
        ("analysis to=python", "n_ctx = 131072\nprint(12 * n_ctx * 2 * 8 * 64 * 2 / 2**20, 'MiB')"),
    ]))
    window.composer.set_text("And at the full 128K context?")
    window.composer.sendRequested.emit(window.composer.text())
    wait_until(lambda: any(card.state() == "waiting_approval" for turn in window.chat_view.turns()
                           for card in turn.assistant.tool_cards()) if hasattr(
        window.chat_view.turns()[-1].assistant, "tool_cards") else False, 5000)
    settle(1200)
    window.grab().save(str(args.out / "app-tool-approval-light.png"))
    window.controller.stop()
    settle(300)
    window.close()
    print(f"screenshots in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
