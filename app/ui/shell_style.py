"""The stylesheet of the window's frame: sidebar, model bar, composer, status line.

Colours and sizes come from the same `Theme` as the message view, so the frame and the conversation are
one design in light and dark, and everything scales with the system font.
"""

from __future__ import annotations

from app.paths import resources_dir
from app.ui.theme import Theme


def shell_stylesheet(theme: Theme) -> str:
    p = theme.palette
    r = theme.px
    chevron = (resources_dir() / "ui" / "chevron-down.svg").as_posix()
    small = r(0.86)
    return f"""
QMainWindow, QWidget#centralShell {{ background: {p.window}; }}
QWidget#sidebar {{ background: {p.surface}; border-right: 1px solid {p.border}; }}
QPushButton#newChatButton {{ background: {p.accent}; color: {p.accent_text}; border: none;
    border-radius: {r(0.55)}px; padding: {r(0.5)}px {r(0.9)}px; font-weight: 600; text-align: left; }}
QPushButton#newChatButton:hover {{ background: {p.link}; }}
QLineEdit#sidebarSearch {{ background: {p.window}; color: {p.text}; border: 1px solid {p.border};
    border-radius: {r(0.55)}px; padding: {r(0.35)}px {r(0.6)}px; selection-background-color: {p.selection}; }}
QLineEdit#sidebarSearch:focus {{ border-color: {p.accent}; }}
QListView#conversationList {{ background: transparent; border: none; outline: none; }}
QWidget#modelBar {{ background: {p.window}; border-bottom: 1px solid {p.border}; }}
QComboBox#modelPicker {{ background: {p.surface}; color: {p.text}; border: 1px solid {p.border};
    border-radius: {r(0.5)}px; padding: {r(0.3)}px {r(0.7)}px; font-weight: 600; }}
QComboBox#modelPicker:disabled {{ color: {p.text_faint}; }}
QComboBox#modelPicker::drop-down {{ subcontrol-origin: padding; subcontrol-position: center right;
    width: {r(1.4)}px; border: none; background: transparent; }}
QComboBox#modelPicker::down-arrow {{ image: url("{chevron}"); width: {r(0.8)}px; height: {r(0.8)}px; }}
QComboBox#modelPicker QAbstractItemView {{ background: {p.surface_raised}; color: {p.text};
    selection-background-color: {p.selection}; border: 1px solid {p.border}; }}
QPushButton#loadButton {{ background: {p.accent}; color: {p.accent_text}; border: none;
    border-radius: {r(0.5)}px; padding: {r(0.3)}px {r(1.0)}px; font-weight: 600; }}
QPushButton#loadButton:hover {{ background: {p.link}; }}
QPushButton#loadButton:disabled {{ background: {p.neutral_background}; color: {p.text_faint}; }}
QToolButton#manageButton {{ background: transparent; color: {p.text_muted}; border: 1px solid {p.border};
    border-radius: {r(0.5)}px; padding: {r(0.3)}px {r(0.7)}px; }}
QToolButton#manageButton:hover {{ background: {p.hover}; color: {p.text}; }}
QToolButton#toolsButton {{ background: transparent; color: {p.text_muted}; border: 1px solid {p.border};
    border-radius: {r(0.5)}px; padding: {r(0.25)}px {r(0.7)}px; }}
QToolButton#toolsButton[active="true"] {{ color: {p.accent}; border-color: {p.accent}; }}
QToolButton#toolsButton::menu-indicator {{ image: none; width: 0; }}
QLabel#planLabel {{ color: {p.text_muted}; font-size: {small}px; }}
QLabel#planLabel[state="failed"] {{ color: {p.danger}; }}
QLabel#planLabel[state="loading"] {{ color: {p.info}; }}
QLabel#effortLabel {{ color: {p.text_muted}; font-size: {small}px; }}
QToolButton#effortButton {{ background: {p.surface}; color: {p.text_muted}; border: 1px solid {p.border};
    padding: {r(0.25)}px {r(0.7)}px; }}
QToolButton#effortButton[position="low"] {{ border-top-left-radius: {r(0.5)}px;
    border-bottom-left-radius: {r(0.5)}px; }}
QToolButton#effortButton[position="medium"] {{ border-left: none; border-right: none; }}
QToolButton#effortButton[position="high"] {{ border-top-right-radius: {r(0.5)}px;
    border-bottom-right-radius: {r(0.5)}px; }}
QToolButton#effortButton:checked {{ background: {p.accent}; color: {p.accent_text};
    border-color: {p.accent}; }}
QToolButton#effortButton:hover:!checked {{ background: {p.hover}; color: {p.text}; }}
QFrame#composer {{ background: {p.surface}; border: 1px solid {p.border}; border-radius: {r(1.1)}px; }}
QPlainTextEdit#composerEdit {{ background: transparent; color: {p.text}; border: none;
    selection-background-color: {p.selection}; }}
QToolButton#attachButton {{ background: transparent; color: {p.text_muted}; border: none;
    border-radius: {r(0.9)}px; min-width: {r(1.8)}px; min-height: {r(1.8)}px; font-size: {r(1.2)}px; }}
QToolButton#attachButton:hover {{ background: {p.hover}; color: {p.text}; }}
QToolButton#sendButton {{ background: {p.accent}; color: {p.accent_text}; border: none;
    border-radius: {r(0.9)}px; min-width: {r(1.8)}px; min-height: {r(1.8)}px; font-size: {r(1.1)}px;
    font-weight: 700; }}
QToolButton#sendButton:disabled {{ background: {p.neutral_background}; color: {p.text_faint}; }}
QToolButton#sendButton[mode="stop"] {{ background: {p.text}; color: {p.window}; }}
QLabel#composerReason {{ color: {p.text_muted}; font-size: {small}px; }}
QFrame#pendingChip {{ background: {p.surface_raised}; border: 1px solid {p.border};
    border-radius: {r(0.6)}px; }}
QFrame#pendingChip[state="error"] {{ border-color: {p.danger}; background: {p.danger_background}; }}
QFrame#pendingChip QLabel#chipName {{ color: {p.text}; font-weight: 600; }}
QFrame#pendingChip QLabel#chipDetail {{ color: {p.text_muted}; font-size: {small}px; }}
QFrame#pendingChip[state="error"] QLabel#chipDetail {{ color: {p.danger}; }}
QToolButton#chipRemove {{ background: transparent; border: none; color: {p.text_faint}; }}
QToolButton#chipRemove:hover {{ color: {p.text}; }}
QToolButton#chipMode {{ background: transparent; border: none; color: {p.text_faint}; }}
QToolButton#chipMode::menu-indicator {{ image: none; width: 0; }}
QToolButton#chipMode:hover {{ color: {p.text}; }}
QProgressBar#chipProgress {{ background: {p.neutral_background}; border: none; border-radius: 2px; }}
QProgressBar#chipProgress::chunk {{ background: {p.accent}; border-radius: 2px; }}
QWidget#contextMeter QLabel {{ color: {p.text_muted}; font-size: {small}px; }}
QStatusBar {{ background: {p.window}; color: {p.text_muted}; border-top: 1px solid {p.border}; }}
QStatusBar QLabel {{ color: {p.text_muted}; font-size: {small}px; padding: 0 {r(0.5)}px; }}
QLabel#banner {{ border-radius: {r(0.5)}px; padding: {r(0.45)}px {r(0.8)}px; color: {p.warning};
    background: {p.warning_background}; }}
QLabel#banner[kind="error"] {{ color: {p.danger}; background: {p.danger_background}; }}
QLabel#banner[kind="info"] {{ color: {p.info}; background: {p.info_background}; }}
QLabel#emptyTitle {{ color: {p.text}; font-size: {r(1.6)}px; font-weight: 600; }}
QLabel#emptyText {{ color: {p.text_muted}; }}
QSplitter::handle {{ background: {p.border}; }}
"""
