"""Light and dark themes that follow the system: colours, the message stylesheet, rich-text CSS, sizes.

A `Theme` is plain data: a `Palette` of colours and the system font's size, from which every length
is derived (in `em` of that font), so text and spacing scale with the user's font-size setting. The
colour scheme follows Qt's report of the system (Qt 6.5+), with the window colour's lightness as the
fallback where the platform reports none. `ThemeWatcher` emits a new Theme when the system scheme or
font changes, or when the user's preference ('system', 'light', 'dark') does.

The spacing between Markdown blocks lives here once: the rich-text CSS and the gaps the message view
puts between its pieces both come from `Theme.block_margins`, so a seam between two widgets looks like
the same seam inside one document (Qt collapses adjacent margins to the larger one).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QFontDatabase, QFontInfo, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

Scheme = Literal["light", "dark"]
Preference = Literal["system", "light", "dark"]


@dataclass(frozen=True)
class Palette:
    """Every colour the message view uses, as #rrggbb."""

    scheme: Scheme
    window: str  # the conversation background
    surface: str  # user bubble, table headers
    surface_raised: str  # cards (tool calls), chips
    hover: str  # background of a hovered flat button
    border: str
    text: str
    text_muted: str  # reasoning, secondary labels
    text_faint: str  # hints, icons at rest
    accent: str
    accent_text: str  # text on the accent colour
    link: str
    code_background: str
    code_header: str
    code_text: str
    inline_code_background: str
    selection: str
    warning: str
    warning_background: str
    info: str
    info_background: str
    success: str
    success_background: str
    danger: str
    danger_background: str
    neutral_background: str
    pygments_style: str


LIGHT = Palette(
    scheme="light", window="#ffffff", surface="#f2f2f4", surface_raised="#ffffff", hover="#ececef",
    border="#e2e2e6", text="#1d1d22", text_muted="#62626d", text_faint="#9b9ba5", accent="#4f46e5",
    accent_text="#ffffff", link="#2f5fd0", code_background="#f7f7f9", code_header="#ececf0",
    code_text="#1f2328", inline_code_background="#ececf1", selection="#cddcff", warning="#a15c07",
    warning_background="#fdf1d6", info="#1d4ed8", info_background="#e0eaff", success="#15803d",
    success_background="#dcf5e4", danger="#b42318", danger_background="#fde4e1",
    neutral_background="#efeff2", pygments_style="default",
)
DARK = Palette(
    scheme="dark", window="#1f2023", surface="#2d2f34", surface_raised="#26282c", hover="#34363c",
    border="#3a3d44", text="#ececf1", text_muted="#a3a3ad", text_faint="#72727c", accent="#8b8cf8",
    accent_text="#15151c", link="#8ab4ff", code_background="#15171b", code_header="#23262c",
    code_text="#e6edf3", inline_code_background="#32353c", selection="#2f4a7a", warning="#f5c451",
    warning_background="#3b3115", info="#93b8ff", info_background="#1f2c47", success="#7ee2a0",
    success_background="#17382a", danger="#ff9e95", danger_background="#431d1d",
    neutral_background="#313339", pygments_style="github-dark",
)

# Top and bottom margin of each top-level block, in em. Headings get more room above than below.
_BLOCK_MARGINS_EM: dict[str, tuple[float, float]] = {
    # A quote is drawn as a table (see app/ui/render/markdown.py), so it has a table's margins.
    "p": (0.7, 0.7), "ul": (0.7, 0.7), "ol": (0.7, 0.7), "blockquote": (0.8, 0.8), "table": (0.8, 0.8),
    "pre": (0.7, 0.7), "hr": (1.0, 1.0), "code": (0.8, 0.8),
    "h1": (1.3, 0.5), "h2": (1.2, 0.45), "h3": (1.0, 0.4),
    "h4": (0.9, 0.3), "h5": (0.9, 0.3), "h6": (0.9, 0.3),
}
_HEADING_SIZES_EM = {"h1": 1.5, "h2": 1.3, "h3": 1.15, "h4": 1.0, "h5": 1.0, "h6": 0.95}


@dataclass(frozen=True)
class Theme:
    """A palette and the system font: everything a message widget needs to look right."""

    palette: Palette
    font_px: int = 14
    font_family: str = ""
    mono_family: str = "monospace"

    @property
    def is_dark(self) -> bool:
        return self.palette.scheme == "dark"

    def px(self, em: float) -> int:
        """A length in pixels from a length in em of the system font."""
        return max(1, round(em * self.font_px))

    def block_margins(self, tag: str) -> tuple[int, int]:
        top, bottom = _BLOCK_MARGINS_EM.get(tag, (0.7, 0.7))
        return self.px(top), self.px(bottom)

    def gap_between(self, last_tag: str, first_tag: str) -> int:
        """Space between two blocks shown in separate widgets: what one document would put there."""
        return max(self.block_margins(last_tag)[1], self.block_margins(first_tag)[0])

    def column_width(self) -> int:
        """Widest the conversation column gets: about 85 characters of prose."""
        return self.px(52)

    def with_scheme(self, scheme: Scheme) -> Theme:
        return dataclasses.replace(self, palette=LIGHT if scheme == "light" else DARK)

    def prose_css(self) -> str:
        """CSS for Markdown rendered into Qt's rich text (QLabel); colours and sizes from the theme."""
        p = self.palette
        rules = [
            f"a {{ color: {p.link}; text-decoration: none; }}",
            f"code {{ font-family: '{self.mono_family}'; background-color: {p.inline_code_background}; }}",
            f"pre.code {{ font-family: '{self.mono_family}'; white-space: pre-wrap; "
            f"background-color: {p.code_background}; color: {p.code_text}; }}",
            f"table.md {{ border-collapse: collapse; border-color: {p.border}; }}",
            f"table.md th, table.md td {{ padding: {self.px(0.3)}px {self.px(0.7)}px; "
            f"border: 1px solid {p.border}; }}",
            f"table.md th {{ background-color: {p.surface}; font-weight: 600; }}",
            "table.quote { border-collapse: collapse; }",
            f"td.quote {{ border-left: 3px solid {p.border}; padding-left: {self.px(0.8)}px; "
            f"color: {p.text_muted}; }}",
            f"hr {{ background-color: {p.border}; }}",
            f"span.cite {{ background-color: {p.inline_code_background}; color: {p.text_muted}; "
            f"font-size: {self.px(0.8)}px; }}",
            f"li {{ margin-bottom: {self.px(0.25)}px; }}",
        ]
        for tag, (top_em, bottom_em) in _BLOCK_MARGINS_EM.items():
            if tag in ("code", "blockquote"):
                continue
            css = f"margin-top: {self.px(top_em)}px; margin-bottom: {self.px(bottom_em)}px;"
            if tag in _HEADING_SIZES_EM:
                css += f" font-size: {self.px(_HEADING_SIZES_EM[tag])}px; font-weight: 600;"
            rules.append(f"{tag} {{ {css} }}")
        return " ".join(rules)

    def stylesheet(self) -> str:
        """The Qt stylesheet of the message view (set on the ChatView, so it reaches only its widgets)."""
        p = self.palette
        r = self.px
        small = r(0.86)
        return f"""
QScrollArea#chatView {{ background: {p.window}; border: none; }}
QWidget#chatColumn {{ background: transparent; }}
QScrollBar:vertical {{ background: transparent; width: {r(0.75)}px; margin: 2px; }}
QScrollBar::handle:vertical {{ background: {p.border}; border-radius: {r(0.3)}px; min-height: {r(2)}px; }}
QScrollBar::handle:vertical:hover {{ background: {p.text_faint}; }}
QScrollBar:horizontal {{ background: transparent; height: {r(0.75)}px; margin: 2px; }}
QScrollBar::handle:horizontal {{ background: {p.border}; border-radius: {r(0.3)}px; min-width: {r(2)}px; }}
QScrollBar::handle:horizontal:hover {{ background: {p.text_faint}; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; }}
QScrollBar::add-page, QScrollBar::sub-page {{ background: transparent; }}
QLabel {{ color: {p.text}; selection-background-color: {p.selection}; }}
QLabel#prose[muted="true"] {{ color: {p.text_muted}; }}
QFrame#userBubble {{ background: {p.surface}; border-radius: {r(1.3)}px; }}
QLabel#userText {{ color: {p.text}; }}
QFrame#attachmentChip {{ background: {p.surface_raised}; border: 1px solid {p.border};
    border-radius: {r(0.7)}px; }}
QLabel#chipName {{ color: {p.text}; font-weight: 600; }}
QLabel#chipDetail {{ color: {p.text_muted}; font-size: {small}px; }}
QToolButton#messageAction {{ background: transparent; border: none; border-radius: {r(0.45)}px;
    padding: {r(0.3)}px; color: {p.text_muted}; }}
QToolButton#messageAction:hover {{ background: {p.hover}; color: {p.text}; }}
QFrame#codeBlock {{ background: {p.code_background}; border: 1px solid {p.border};
    border-radius: {r(0.7)}px; }}
QWidget#codeHeader {{ background: {p.code_header}; border-top-left-radius: {r(0.7)}px;
    border-top-right-radius: {r(0.7)}px; }}
QLabel#codeLanguage {{ color: {p.text_muted}; font-size: {small}px; }}
QToolButton#codeCopy {{ background: transparent; border: none; border-radius: {r(0.4)}px;
    padding: {r(0.15)}px {r(0.4)}px; color: {p.text_muted}; font-size: {small}px; }}
QToolButton#codeCopy:hover {{ background: {p.hover}; color: {p.text}; }}
QTextEdit#codeText {{ background: transparent; border: none; color: {p.code_text};
    selection-background-color: {p.selection}; }}
QToolButton#reasoningHeader {{ background: transparent; border: none; color: {p.text_muted};
    padding: {r(0.2)}px 0; font-weight: 600; }}
QToolButton#reasoningHeader:hover {{ color: {p.text}; }}
QFrame#reasoningBody {{ border: none; border-left: 2px solid {p.border}; }}
QFrame#toolCard {{ background: {p.surface_raised}; border: 1px solid {p.border};
    border-radius: {r(0.85)}px; }}
QLabel#toolIcon {{ color: {p.text_muted}; }}
QLabel#toolName {{ font-family: '{self.mono_family}'; font-weight: 600; color: {p.text}; }}
QLabel#toolDuration, QLabel#toolHint {{ color: {p.text_muted}; font-size: {small}px; }}
QLabel#toolState {{ border-radius: {r(0.55)}px; padding: {r(0.1)}px {r(0.55)}px; font-size: {small}px;
    font-weight: 600; color: {p.text_muted}; background: {p.neutral_background}; }}
QLabel#toolState[state="waiting_approval"] {{ color: {p.warning}; background: {p.warning_background}; }}
QLabel#toolState[state="running"] {{ color: {p.info}; background: {p.info_background}; }}
QLabel#toolState[state="done"] {{ color: {p.success}; background: {p.success_background}; }}
QLabel#toolState[state="failed"] {{ color: {p.danger}; background: {p.danger_background}; }}
QPlainTextEdit#toolResult {{ background: {p.code_background}; border: 1px solid {p.border};
    border-radius: {r(0.5)}px; color: {p.code_text}; font-family: '{self.mono_family}';
    selection-background-color: {p.selection}; }}
QToolButton#toolResultToggle {{ background: transparent; border: none; color: {p.text_muted};
    font-size: {small}px; font-weight: 600; padding: {r(0.15)}px 0; }}
QToolButton#toolResultToggle:hover {{ color: {p.text}; }}
QPushButton#approveButton, QPushButton#denyButton, QPushButton#alwaysAllowButton {{
    border-radius: {r(0.5)}px; padding: {r(0.35)}px {r(0.9)}px; font-weight: 600; }}
QPushButton#approveButton {{ background: {p.accent}; color: {p.accent_text}; border: 1px solid {p.accent}; }}
QPushButton#approveButton:hover {{ background: {p.link}; }}
QPushButton#denyButton, QPushButton#alwaysAllowButton {{ background: transparent; color: {p.text};
    border: 1px solid {p.border}; }}
QPushButton#denyButton:hover, QPushButton#alwaysAllowButton:hover {{ background: {p.hover}; }}
QLabel#turnNotice {{ border-radius: {r(0.6)}px; padding: {r(0.5)}px {r(0.8)}px;
    color: {p.warning}; background: {p.warning_background}; }}
QLabel#turnNotice[kind="failed"] {{ color: {p.danger}; background: {p.danger_background}; }}
QLabel#turnNotice[kind="interrupted"] {{ color: {p.text_muted}; background: {p.neutral_background}; }}
QLabel#typingIndicator {{ color: {p.text_faint}; font-size: {r(1.3)}px; }}
QToolButton#jumpToBottom {{ background: {p.surface_raised}; border: 1px solid {p.border};
    border-radius: {r(1.2)}px; }}
QToolButton#jumpToBottom:hover {{ background: {p.hover}; }}
"""

    def qpalette(self) -> QPalette:
        """A QPalette for the whole application, so widgets outside the stylesheet match too."""
        p = self.palette
        palette = QPalette()
        roles = {
            QPalette.ColorRole.Window: p.window, QPalette.ColorRole.WindowText: p.text,
            QPalette.ColorRole.Base: p.window, QPalette.ColorRole.AlternateBase: p.surface,
            QPalette.ColorRole.Text: p.text, QPalette.ColorRole.Button: p.surface,
            QPalette.ColorRole.ButtonText: p.text, QPalette.ColorRole.Highlight: p.selection,
            QPalette.ColorRole.HighlightedText: p.text, QPalette.ColorRole.Link: p.link,
            QPalette.ColorRole.LinkVisited: p.link, QPalette.ColorRole.ToolTipBase: p.surface_raised,
            QPalette.ColorRole.ToolTipText: p.text, QPalette.ColorRole.PlaceholderText: p.text_faint,
            QPalette.ColorRole.Mid: p.border, QPalette.ColorRole.Midlight: p.surface,
        }
        for role, colour in roles.items():
            palette.setColor(role, QColor(colour))
        for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
            palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(p.text_faint))
        return palette


def system_scheme() -> Scheme:
    """Dark or light as the system says; from the palette's window colour where it says nothing."""
    app = QGuiApplication.instance()
    if app is None:
        return "light"
    scheme = QGuiApplication.styleHints().colorScheme()
    if scheme == Qt.ColorScheme.Dark:
        return "dark"
    if scheme == Qt.ColorScheme.Light:
        return "light"
    return "dark" if QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128 else "light"


def theme_for(preference: Preference = "system") -> Theme:
    """The theme for a preference, with the application's (the system's) font."""
    scheme: Scheme = system_scheme() if preference == "system" else preference
    font = QGuiApplication.font()
    mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    return Theme(
        palette=LIGHT if scheme == "light" else DARK,
        font_px=QFontInfo(font).pixelSize(),
        font_family=font.family(),
        mono_family=mono.family(),
    )


def apply_palette(app: QApplication, theme: Theme) -> None:
    """Give the whole application the theme's palette (the message view also has its stylesheet)."""
    app.setPalette(theme.qpalette())


class ThemeWatcher(QObject):
    """Follows the system's colour scheme and font, and the user's preference.

    Signals:
        themeChanged(object): a new `Theme` to apply (to the application palette and the ChatView).
    """

    themeChanged = Signal(object)

    def __init__(self, preference: Preference = "system", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._preference: Preference = preference
        self.theme = theme_for(preference)
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._refresh)
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.fontChanged.connect(self._refresh)

    def set_preference(self, preference: Preference) -> None:
        self._preference = preference
        self._refresh()

    def _refresh(self, *_: object) -> None:
        theme = theme_for(self._preference)
        if theme != self.theme:
            self.theme = theme
            self.themeChanged.emit(theme)
