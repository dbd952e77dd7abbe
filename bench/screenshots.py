"""Screenshots of the message view in its main states, light and dark, into docs/screenshots/.

    xvfb-run -a .venv/bin/python bench/screenshots.py [--out docs/screenshots] [--font Inter]

The real ChatView with the real widgets, fed through their slots (the lead's bench/screenshots_app.py
shows the whole window driven by the chat loop). States: a finished answer with reasoning, a tool call
and rich Markdown; a reply while it streams; a tool call waiting for approval; turns that ended early.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtGui import QFont  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.ui.messages import AttachmentChipData, ChatView  # noqa: E402
from app.ui.theme import apply_palette, theme_for  # noqa: E402

REASONING = ("The user wants to know how much memory gpt-oss-20b needs for a long context. Half of the "
             "layers use a sliding window of 128 tokens, so only the full-attention layers grow with "
             "the context. Compute it, then give a short table and a helper function.")
ANSWER = """## Memory for long contexts

gpt-oss alternates **full attention** and **sliding-window** layers, so only half of the KV cache
grows with `n_ctx`. The [model card](https://huggingface.co/openai/gpt-oss-20b) has the details.

1. Full-attention layers keep every token: their cache is linear in the context.
2. Sliding-window layers keep the last 128 tokens only.

| Context | Full layers | Sliding layers |
| --- | ---: | ---: |
| 8K | 192 MiB | 18 MiB |
| 32K | 768 MiB | 18 MiB |
| 128K | 3.0 GiB | 18 MiB |

```python
def kv_bytes(n_ctx: int, layers: int = 12) -> int:
    \"\"\"K and V, 8 KV heads of 64 values, 2 bytes each.\"\"\"
    return layers * n_ctx * 2 * 8 * 64 * 2
```

> Halving the context halves only the full-attention part.
"""
STREAMING_ANSWER = """## Steps

1. Install the dependencies:

   ```bash
   pip install ossian
   ```

2. Start the app and pick a model. Then write a small script:

```python
from pathlib import Path

def count_lines(folder: Path) -> int:
    return sum(len(p.read_text().splitlines()) for p in folder.glob("*.py"))
"""
TOOL_CODE = "n_ctx = 131072\nper_token = 2 * 8 * 64 * 2\nprint(12 * n_ctx * per_token / 2**30, 'GiB')"


def settle(ms: int = 300) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def finished_answer(chat: ChatView) -> None:
    notes = AttachmentChipData("kv-cache-notes.pdf", pages=12, tokens=3_400)
    question = "How much memory does gpt-oss-20b need at long contexts? My notes are attached."
    turn = chat.add_turn("1", question, [notes])
    reply = turn.assistant
    reply.append_reasoning(REASONING)
    reply.finish_reasoning(7.4)
    reply.add_preamble("Let me compute it exactly.")
    reply.add_tool_call("c1", "python", TOOL_CODE, "done")
    reply.update_tool_call("c1", result="3.0 GiB\n", duration=0.31)
    reply.append_answer(ANSWER)
    reply.finish()


def streaming(chat: ChatView) -> None:
    turn = chat.add_turn("2", "How do I get started? Show me a script too.")
    reply = turn.assistant
    reply.append_reasoning("Short setup steps, then a small example script that counts lines of code. "
                           "Keep the script under ten lines and explain")
    reply.finish_reasoning(2.1)
    reply.append_answer(STREAMING_ANSWER)


def thinking(chat: ChatView) -> None:
    turn = chat.add_turn("7", "Plan a three-day trip to Oslo in March, on a budget.")
    turn.assistant.append_reasoning(
        "The user wants a budget plan for three days in Oslo in March. It will be cold, around 0 °C, so "
        "indoor sights matter: the **Munch museum**, the Opera house roof, the Viking ship museum.\n\n"
        "Budget: the Oslo Pass covers transport and most museums; compare 72 h pass vs single tickets. "
        "Food is expensive, so suggest groceries and")


def approval(chat: ChatView) -> None:
    turn = chat.add_turn("3", "And at the full 128K context, exactly?")
    reply = turn.assistant
    reply.append_reasoning("Compute it instead of guessing.")
    reply.finish_reasoning(1.2)
    reply.add_tool_call("c2", "python", TOOL_CODE, "waiting_approval")


def endings(chat: ChatView) -> None:
    stopped = chat.add_turn("4", "Write a long essay about attention.").assistant
    stopped.append_answer("Attention lets every token look at the tokens before it, weighting each by")
    stopped.finish("interrupted")
    failed = chat.add_turn("5", "Summarize the attached book.").assistant
    failed.finish("failed", detail="Not enough memory for a 128K context on this machine; try 32K.")
    silent = chat.add_turn("6", "What is 6 × 7?").assistant
    silent.append_reasoning("6 × 7 = 42. Answer briefly.")
    silent.finish("no_answer", last_text="6 × 7 = 42. Answer briefly.")


STATES = {"answer": finished_answer, "thinking": thinking, "streaming": streaming, "approval": approval,
          "endings": endings}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--font", default="", help="UI font (default: the system's)")
    parser.add_argument("--size", default="1040x900", help="window size, WIDTHxHEIGHT")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    if args.font:
        font = QFont(args.font)
        font.setPointSizeF(app.font().pointSizeF() + 0.5)
        app.setFont(font)
    width, height = (int(n) for n in args.size.split("x"))
    for scheme in ("light", "dark"):
        theme = theme_for(scheme)
        apply_palette(app, theme)
        for name, build in STATES.items():
            chat = ChatView(theme)
            chat.resize(width, height)
            chat.show()
            build(chat)
            chat.context.frames.flush_now()
            chat.context.highlights.run_all()
            settle()
            chat.scroll_to_bottom()
            settle(150)
            path = args.out / f"messages-{name}-{scheme}.png"
            chat.grab().save(str(path))
            print(path)
            chat.close()
            chat.deleteLater()
    return 0


if __name__ == "__main__":
    sys.exit(main())
