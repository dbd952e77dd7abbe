"""The markdown-it set-up: the HTML subset Qt shows, and nothing the view should not load or run."""

from __future__ import annotations

from app.ui.render.highlight import CodeHighlighter, lexer_for
from app.ui.render.markdown import STREAMING_KEY, MarkdownRenderer


def render(text: str) -> str:
    return MarkdownRenderer(CodeHighlighter("default")).render(text)


def test_raw_html_from_the_model_is_shown_as_text() -> None:
    html = render('Hi <img src="http://tracker/x.png"> <b>bold</b>')
    assert "<img" not in html and "<b>" not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


def test_images_become_links_and_are_never_fetched() -> None:
    html = render("![a chart](https://example.com/chart.png)")
    assert "<img" not in html
    assert '<a href="https://example.com/chart.png">[a chart]</a>' in html


def test_script_and_file_links_are_not_links() -> None:
    html = render("[x](javascript:alert(1)) [y](file:///etc/passwd) [z](https://ok.example)")
    assert 'href="javascript' not in html and 'href="file' not in html
    assert '<a href="https://ok.example">z</a>' in html


def test_tables_get_cell_borders_and_alignment_for_qt() -> None:
    html = render("| a | b |\n|---|--:|\n| 1 | 2 |\n")
    assert html.startswith('<table class="md" cellspacing="0" cellpadding="0" border="1">')
    assert '<td align="right">2</td>' in html and "style=" not in html


def test_no_newlines_between_block_tags_but_code_keeps_its_own() -> None:
    html = render("# T\n\n- a\n- b\n\n    x = 1\n    y = 2\n")
    assert ">\n<" not in html
    assert "x = 1\ny = 2" in html


def test_nested_code_is_highlighted_once_the_lexer_is_loaded() -> None:
    lexer_for("python")
    html = render("1. step\n\n   ```python\n   def f(): pass\n   ```\n")
    assert '<pre class="code"><span style="color:#008000;font-weight:bold">def</span>' in html


def test_nested_code_in_the_open_tail_is_escaped_not_lexed() -> None:
    markdown = MarkdownRenderer(CodeHighlighter("default"))
    env = {STREAMING_KEY: True}
    html = markdown.render_tokens(markdown.parse("- x\n\n  ```python\n  a < b\n  ```\n", env), env)
    assert '<pre class="code">a &lt; b</pre>' in html


def test_quotes_are_a_table_cell_with_a_bar() -> None:
    html = render("> wise *words*\n")
    assert html == ('<table class="quote" cellspacing="0" cellpadding="0" border="0"><tr><td class="quote">'
                    "<p>wise <em>words</em></p></td></tr></table>")


def test_citation_markers_become_tags_and_code_keeps_them() -> None:
    html = render("Costs **rose 【†report.pdf, p. 3】** and 【4†L1-L2】; `【†kept】`; "
                  "a link 【0†notes.md】.\n\n| a |\n|---|\n| 【†main.py, L4-9】 |")
    assert '<strong>rose <span class="cite">\u2009report.pdf,\u00a0p.\u00a03\u2009</span></strong>' in html
    assert '<span class="cite">\u2009source\u2009</span>' in html  # unresolved: no cursor soup
    assert '<span class="cite">\u2009notes.md\u2009</span>' in html
    assert "<code>【†kept】</code>" in html
    assert '<td><span class="cite">\u2009main.py,\u00a0L4-9\u2009</span></td>' in html


def test_brackets_without_a_dagger_stay_text() -> None:
    html = render("【注意】请先阅读说明。【第二章】")
    assert html == "<p>【注意】请先阅读说明。【第二章】</p>"


def test_a_marker_in_the_model_text_cannot_inject_markup() -> None:
    html = render("【†<b>x</b> & y】 and an unclosed 【 bracket")
    assert '<span class="cite">\u2009&lt;b&gt;x&lt;/b&gt;\u00a0&amp;\u00a0y\u2009</span>' in html
    assert "unclosed 【 bracket" in html
