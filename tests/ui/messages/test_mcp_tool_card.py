"""The card of an MCP tool call: titled by the tool and its server, approved like any other call."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.ui.messages.tool_call import ToolCallCard, card_title


def test_an_mcp_tool_card_names_the_tool_and_its_server(qtbot, context) -> None:
    assert card_title("functions.my_files__read_text_file") == "read_text_file on the MCP server my_files"
    assert card_title("functions.get_time") == "functions.get_time" and card_title("python") == "python"
    widget = ToolCallCard(context, "7", "functions.files__write_file", '{"path": "/tmp/a", "content": "x"}',
                          "waiting_approval")
    qtbot.addWidget(widget)
    widget.show()
    assert widget._name.text() == "write_file on the MCP server files"
    assert widget.always_button.text() == "Always allow write_file on the MCP server files"
    with qtbot.waitSignal(widget.approveRequested) as approved:
        qtbot.mouseClick(widget.approve_button, Qt.MouseButton.LeftButton)
    assert approved.args == ["7"]
