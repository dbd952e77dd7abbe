"""Themes: two palettes, sizes from the system font, one table of block margins for CSS and gaps."""

from __future__ import annotations

import re

from PySide6.QtGui import QColor, QGuiApplication, QPalette

from app.ui.theme import DARK, LIGHT, Theme, ThemeWatcher, system_scheme, theme_for


def test_palettes_differ_and_are_complete() -> None:
    assert LIGHT.scheme == "light" and DARK.scheme == "dark"
    assert QColor(LIGHT.window).lightness() > 200 and QColor(DARK.window).lightness() < 60
    assert QColor(DARK.text).lightness() > QColor(DARK.window).lightness()


def test_sizes_follow_the_system_font() -> None:
    small, large = Theme(LIGHT, font_px=12), Theme(LIGHT, font_px=24)
    assert large.px(1.5) == 2 * small.px(1.5)
    assert large.column_width() == 2 * small.column_width()
    sizes = [int(n) for n in re.findall(r"h1 \{[^}]*font-size: (\d+)px", large.prose_css())]
    assert sizes == [36]


def test_gaps_between_widgets_equal_collapsed_css_margins() -> None:
    theme = Theme(LIGHT, font_px=14)
    css = theme.prose_css()
    for tag in ("p", "h2", "ul", "table"):
        top, bottom = theme.block_margins(tag)
        assert f"{tag} {{ margin-top: {top}px; margin-bottom: {bottom}px;" in css
    assert theme.gap_between("p", "h2") == max(theme.block_margins("p")[1], theme.block_margins("h2")[0])
    assert theme.gap_between("code", "p") == max(theme.block_margins("code")[1], theme.block_margins("p")[0])


def test_stylesheet_and_palette_carry_the_colours() -> None:
    theme = Theme(DARK, font_px=14)
    assert DARK.code_background in theme.stylesheet() and DARK.warning in theme.stylesheet()
    palette = theme.qpalette()
    assert palette.color(QPalette.ColorRole.Window).name() == DARK.window
    assert palette.color(QPalette.ColorRole.Link).name() == DARK.link


def test_scheme_follows_the_system_palette_when_qt_reports_none(qapp) -> None:
    original = QGuiApplication.palette()
    try:
        QGuiApplication.setPalette(Theme(DARK).qpalette())
        assert system_scheme() == "dark"
        assert theme_for("system").palette is DARK
        QGuiApplication.setPalette(Theme(LIGHT).qpalette())
        assert system_scheme() == "light"
    finally:
        QGuiApplication.setPalette(original)
    assert theme_for("dark").palette is DARK and theme_for("light").palette is LIGHT
    assert theme_for("light").font_px > 0


def test_watcher_emits_when_the_preference_changes(qtbot) -> None:
    watcher = ThemeWatcher("light")
    assert watcher.theme.palette is LIGHT
    with qtbot.waitSignal(watcher.themeChanged) as changed:
        watcher.set_preference("dark")
    assert changed.args[0].palette is DARK
