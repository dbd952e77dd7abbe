"""The sidebar: rows from the window, selection, debounced search, rename/delete/export requests."""

from __future__ import annotations

from app.ui.sidebar import ConversationSidebar, SidebarRow
from app.ui.theme import theme_for

ROWS = [SidebarRow(3, "Sliding windows", "just now"), SidebarRow(1, "MXFP4 explained", "2 h ago")]


def make(qtbot) -> ConversationSidebar:
    sidebar = ConversationSidebar(theme_for("light"))
    qtbot.addWidget(sidebar)
    sidebar.show()
    return sidebar


def test_rows_show_and_a_click_selects(qtbot) -> None:
    sidebar = make(qtbot)
    with qtbot.assertNotEmitted(sidebar.conversationSelected):
        sidebar.set_rows(ROWS, selected=3)  # the window's own selection is not a user choice
    assert sidebar.model.rowCount() == 2
    with qtbot.waitSignal(sidebar.conversationSelected) as chosen:
        sidebar.list.setCurrentIndex(sidebar.model.index(1))
    assert chosen.args == [1]


def test_search_is_debounced_into_one_signal(qtbot) -> None:
    sidebar = make(qtbot)
    with qtbot.waitSignal(sidebar.searchChanged, timeout=2000) as searched:
        qtbot.keyClicks(sidebar.search, "mxfp")
    assert searched.args == ["mxfp"]


def test_ten_thousand_rows_are_one_model_reset(qtbot) -> None:
    sidebar = make(qtbot)
    rows = [SidebarRow(i, f"conversation {i}", "yesterday") for i in range(10_000)]
    sidebar.set_rows(rows)
    assert sidebar.model.rowCount() == 10_000
    assert sidebar.model.row_of(9_999) == 9_999


def test_after_a_new_chat_the_previous_conversation_can_be_chosen_again(qtbot) -> None:
    sidebar = make(qtbot)
    sidebar.set_rows(ROWS, selected=3)
    sidebar.select(-1)  # "New chat": nothing is current
    assert not sidebar.list.currentIndex().isValid()
    with qtbot.waitSignal(sidebar.conversationSelected) as chosen:
        sidebar.list.setCurrentIndex(sidebar.model.index(0))
    assert chosen.args == [3]
