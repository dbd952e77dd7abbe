"""Highlighting in slices gives the same colours as in one go; lexers load off the caller's thread."""

from __future__ import annotations

import threading

from app.ui.render.highlight import (
    CodeHighlighter,
    has_lexer,
    is_lexer_loaded,
    language_name,
    lexer_for,
    load_lexer,
)

CODE = "\n".join(f"def f{i}(x):\n    '''doc {i}'''\n    return x * {i}  # note" for i in range(60))


def test_slices_give_the_same_html_as_one_go() -> None:
    highlighter = CodeHighlighter("default")
    whole = highlighter.highlight(CODE, "python")
    job = highlighter.start(CODE, "python")
    steps = 0
    while not job.step(0.0):
        steps += 1
    assert steps > 5, "a zero budget advances a little at a time"
    assert job.html == whole
    assert '<span style="color:#008000;font-weight:bold">def</span>' in whole


def test_unknown_and_plain_languages_are_escaped() -> None:
    highlighter = CodeHighlighter("default")
    assert highlighter.highlight("a < b", "no-such-language") == "a &lt; b"
    assert highlighter.highlight("a < b", "") == "a &lt; b"
    assert not has_lexer("no-such-language") and not has_lexer("")
    assert has_lexer("python") and has_lexer("sh") and has_lexer("js")


def test_language_name_takes_the_first_word_of_the_info() -> None:
    assert language_name("Python title=app.py") == "python"
    assert language_name("   ") == ""


def test_lexers_load_on_the_loader_thread() -> None:
    threads: list[str] = []
    future = load_lexer("toml")
    future.add_done_callback(lambda _: threads.append(threading.current_thread().name))
    assert future.result(timeout=30) is not None
    assert is_lexer_loaded("toml")
    assert lexer_for("toml") is future.result()
    # The callback runs on the loader thread, or here if the lexer was loaded before it was added.
    assert threads and (threads[0].startswith("lexer-loader")
                        or threads[0] == threading.current_thread().name)


def test_highlight_if_loaded_never_waits() -> None:
    highlighter = CodeHighlighter("default")
    first = highlighter.highlight_if_loaded("x = 1", "ini")
    load_lexer("ini").result(timeout=30)
    second = highlighter.highlight_if_loaded("x = 1", "ini")
    assert first in ("x = 1", second)
    assert "<span" in second
