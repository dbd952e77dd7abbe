from markdown_it import MarkdownIt

from app.store import NewMessage, Store
from tests.store.conftest import Clock
from tests.store.test_json_format import rich_conversation


def html(markdown: str) -> str:
    return MarkdownIt("commonmark").render(markdown)


def test_reasoning_and_tool_calls_as_collapsible_sections(store: Store, clock: Clock) -> None:
    markdown = store.export_markdown(rich_conversation(store, clock))
    assert markdown.startswith("# Summarise the report and compute 2**10\n\n- Model: gpt-oss-20b\n"
                               "- Reasoning effort: high\n- Started: 2025-08-05 13:20 UTC\n")
    assert "<details>\n<summary>Reasoning</summary>\n\nUse python.\n\n</details>" in markdown
    assert ("<details>\n<summary>Tool call: python (done, 0.2 s)</summary>\n\n**Arguments**\n\n```\n"
            "print(2**10)\n```\n\n**Result**\n\n```\n1024\n```\n\n</details>") in markdown
    assert "- Attached: report.pdf (2 pages, 7 tokens)" in markdown
    assert "In eu\n\n*(Error: The engine stopped.)*" in markdown
    rendered = html(markdown)
    assert rendered.count("<h2>User</h2>") == 2 and rendered.count("<h2>Assistant</h2>") == 2
    assert "<p>Revenue rose 4%; 2**10 = 1024.</p>" in rendered
    assert "<strong>Arguments</strong>" in rendered  # Markdown inside <details> still renders


def test_reasoning_and_tool_calls_can_be_left_out(store: Store, clock: Clock) -> None:
    conversation = rich_conversation(store, clock)
    without = store.export_markdown(conversation, include_reasoning=False, include_tool_calls=False)
    assert "Use python." not in without and "print(2**10)" not in without and "1024\n" not in without
    assert "<details>" not in without
    assert "Revenue rose 4%; 2**10 = 1024." in without
    only_tools = store.export_markdown(conversation, include_reasoning=False)
    assert "Use python." not in only_tools and "Tool call: python" in only_tools


def test_content_cannot_break_out_of_its_block(store: Store) -> None:
    conversation = store.create_conversation(title="Tricky <b>title</b>")
    store.append_message(conversation.id, NewMessage("assistant", "think </details> # not a heading",
                                                     channel="analysis"))
    store.append_message(conversation.id, NewMessage("assistant", "```\nfenced\n````", recipient="python"))
    store.append_message(conversation.id, NewMessage("assistant", "half", channel="final",
                                                     status="interrupted"))
    markdown = store.export_markdown(conversation.id)
    assert "think &lt;/details&gt; # not a heading" in markdown
    assert "`````\n```\nfenced\n````\n`````" in markdown  # a fence longer than any run inside
    assert "half\n\n*(Interrupted: this reply was cut off.)*" in markdown
    rendered = html(markdown)
    assert "<h1>not a heading</h1>" not in rendered
    assert rendered.count("<details>") == rendered.count("</details>") == 2
