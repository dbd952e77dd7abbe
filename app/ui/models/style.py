"""The look of the model screens: cards, badges, accent buttons and progress bars from the theme palette.

Set on the welcome page and on the library dialog (so it reaches only their widgets); object names
and dynamic properties (`tone`, `level`, `kind`) select the rules. Every length comes from the theme's
em, so the screens scale with the system font, and every colour from its palette, so light and dark
are one design with the message view.
"""

from __future__ import annotations

from PySide6.QtGui import QColor

from app.ui.theme import Theme


def _shade(colour: str, dark: bool, amount: int = 112) -> str:
    """The accent a little deeper (light theme) or brighter (dark theme), for hover."""
    qcolour = QColor(colour)
    return (qcolour.lighter(amount) if dark else qcolour.darker(amount)).name()


def models_stylesheet(theme: Theme) -> str:
    p = theme.palette
    r = theme.px
    small = r(0.86)
    hover_accent = _shade(p.accent, theme.is_dark)
    pressed_accent = _shade(p.accent, theme.is_dark, 125)
    tones = {"muted": p.text_muted, "danger": p.danger, "success": p.success, "warning": p.warning}
    tone_rules = "\n".join(f'QLabel#rowStatus[tone="{name}"] {{ color: {colour}; }}'
                           for name, colour in tones.items())
    badges = {"success": (p.success, p.success_background), "warning": (p.warning, p.warning_background),
              "danger": (p.danger, p.danger_background), "accent": (p.info, p.info_background),
              "neutral": (p.text_muted, p.neutral_background)}
    badge_rules = "\n".join(f'QLabel#badge[tone="{name}"] {{ color: {fg}; background: {bg}; }}'
                            for name, (fg, bg) in badges.items())
    banners = {"warning": (p.warning, p.warning_background), "danger": (p.danger, p.danger_background),
               "info": (p.info, p.info_background), "success": (p.success, p.success_background)}
    banner_rules = "\n".join(f'QLabel#banner[kind="{name}"] {{ color: {fg}; background: {bg}; }}'
                             for name, (fg, bg) in banners.items())
    return f"""
QWidget#modelsPage, QDialog#modelLibrary {{ background: {p.window}; }}
QScrollArea#modelsScroll {{ background: {p.window}; border: none; }}
QWidget#modelsColumn {{ background: transparent; }}
QLabel {{ color: {p.text}; selection-background-color: {p.selection}; }}
QLabel#headline {{ font-size: {r(2.0)}px; font-weight: 700; }}
QLabel#dialogTitle {{ font-size: {r(1.45)}px; font-weight: 700; }}
QLabel#subtitle {{ color: {p.text_muted}; font-size: {r(1.07)}px; }}
QLabel#machineLine {{ color: {p.text_muted}; background: {p.surface}; border-radius: {r(0.9)}px;
    padding: {r(0.35)}px {r(0.85)}px; }}
QLabel#eyebrow {{ color: {p.accent}; font-size: {small}px; font-weight: 700; }}
QLabel#sectionTitle {{ font-size: {r(1.07)}px; font-weight: 600; }}
QLabel#sectionHint, QLabel#muted {{ color: {p.text_muted}; }}
QLabel#faint {{ color: {p.text_faint}; font-size: {small}px; }}
QFrame#card, QFrame#heroCard, QFrame#listCard {{ background: {p.surface_raised};
    border: 1px solid {p.border}; border-radius: {r(0.9)}px; }}
QFrame#heroCard {{ border-radius: {r(1.1)}px; }}
QFrame#rowDivider {{ background: {p.border}; border: none; max-height: 1px; min-height: 1px; }}
QFrame#downloadRow, QFrame#installedCard, QFrame#foundRow {{ background: transparent; border: none; }}
QLabel#rowTitle {{ font-weight: 600; }}
QLabel#heroTitle {{ font-size: {r(1.5)}px; font-weight: 700; }}
QLabel#rowDetail {{ color: {p.text_muted}; font-size: {small}px; }}
QLabel#rowDescription {{ color: {p.text}; }}
QLabel#rowReason {{ color: {p.text_muted}; }}
QLabel#rowPath {{ color: {p.text_faint}; font-size: {small}px; }}
QLabel#rowStatus {{ font-size: {small}px; }}
QLabel#rowStatus[variant="large"] {{ font-size: {r(1.0)}px; }}
{tone_rules}
QLabel#badge {{ border-radius: {r(0.55)}px; padding: {r(0.08)}px {r(0.55)}px; font-size: {small}px;
    font-weight: 600; }}
{badge_rules}
QLabel#banner {{ border-radius: {r(0.6)}px; padding: {r(0.55)}px {r(0.85)}px; margin-bottom: {r(0.8)}px; }}
{banner_rules}
QPushButton {{ border-radius: {r(0.5)}px; padding: {r(0.38)}px {r(0.95)}px; font-weight: 600;
    background: transparent; color: {p.text}; border: 1px solid {p.border}; }}
QPushButton:hover {{ background: {p.hover}; }}
QPushButton:disabled {{ color: {p.text_faint}; border-color: {p.border}; background: transparent; }}
QPushButton#primaryButton {{ background: {p.accent}; color: {p.accent_text}; border: 1px solid {p.accent}; }}
QPushButton#primaryButton:hover {{ background: {hover_accent}; border-color: {hover_accent}; }}
QPushButton#primaryButton:pressed {{ background: {pressed_accent}; border-color: {pressed_accent}; }}
QPushButton#primaryButton:disabled {{ background: {p.neutral_background}; color: {p.text_faint};
    border-color: {p.neutral_background}; }}
QPushButton#primaryButton[variant="large"] {{ padding: {r(0.6)}px {r(1.5)}px; font-size: {r(1.05)}px;
    border-radius: {r(0.6)}px; }}
QPushButton#dangerButton {{ background: {p.danger}; color: {p.window}; border: 1px solid {p.danger}; }}
QPushButton#dangerButton:hover {{ background: {_shade(p.danger, theme.is_dark)}; }}
QPushButton#quietButton {{ border: none; color: {p.text_muted}; padding: {r(0.38)}px {r(0.6)}px; }}
QPushButton#quietButton:hover {{ color: {p.text}; background: {p.hover}; }}
QPushButton#quietButton:disabled {{ color: {p.text_faint}; }}
QProgressBar#downloadProgress {{ background: {p.neutral_background}; border: none;
    border-radius: {r(0.2)}px; max-height: {r(0.4)}px; min-height: {r(0.4)}px; }}
QProgressBar#downloadProgress::chunk {{ background: {p.accent}; border-radius: {r(0.2)}px; }}
QProgressBar#downloadProgress[phase="paused"]::chunk {{ background: {p.text_faint}; }}
QLineEdit {{ background: {p.window}; color: {p.text}; border: 1px solid {p.border};
    border-radius: {r(0.5)}px; padding: {r(0.38)}px {r(0.6)}px; selection-background-color: {p.selection}; }}
QLineEdit:focus {{ border-color: {p.accent}; }}
QTabWidget#libraryTabs::pane {{ border: none; }}
QTabWidget#libraryTabs > QTabBar {{ qproperty-drawBase: 0; }}
QTabBar::tab {{ background: transparent; color: {p.text_muted}; border: none; border-radius: {r(0.5)}px;
    padding: {r(0.4)}px {r(0.95)}px; margin-right: {r(0.3)}px; font-weight: 600; }}
QTabBar::tab:selected {{ background: {p.surface}; color: {p.text}; }}
QTabBar::tab:hover:!selected {{ color: {p.text}; background: {p.hover}; }}
QScrollBar:vertical {{ background: transparent; width: {r(0.75)}px; margin: 2px; }}
QScrollBar::handle:vertical {{ background: {p.border}; border-radius: {r(0.3)}px; min-height: {r(2)}px; }}
QScrollBar::handle:vertical:hover {{ background: {p.text_faint}; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; }}
QScrollBar::add-page, QScrollBar::sub-page {{ background: transparent; }}
"""
