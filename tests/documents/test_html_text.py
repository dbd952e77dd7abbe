"""HTML to text: what a reader sees, with structure the model can use."""

from __future__ import annotations

from app.documents.html_text import html_to_text


def test_title_becomes_the_heading_when_the_body_has_none():
    assert html_to_text("<html><head><title> Quarterly   report </title></head><body><p>Up 5%.</p>") == (
        "# Quarterly report\n\nUp 5%."
    )


def test_scripts_styles_and_templates_are_not_text():
    html = "<p>Seen</p><script>if (a < b) alert('x')</script><style>p{}</style><template><p>No</p></template>"
    assert html_to_text(html) == "Seen"


def test_whitespace_collapses_except_in_pre():
    html = "<p>one\n   two\t three</p><pre>def f():\n    return  1</pre><p>after</p>"
    assert html_to_text(html) == "one two three\n\ndef f():\n    return  1\n\nafter"


def test_lists_tables_breaks_and_entities():
    html = ("<h2>Plan</h2><ul><li>Fish &amp; chips</li><li>caf&eacute; &lt;3</li></ul>"
            "<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></table>"
            "line one<br>line two")
    assert html_to_text(html) == "## Plan\n\n- Fish & chips\n- café <3\na | b\n1 | 2\nline one\nline two"


def test_malformed_html_still_gives_its_text():
    assert html_to_text("<div><p>unclosed <b>bold <i>both</div> tail") == "unclosed bold both\ntail"
