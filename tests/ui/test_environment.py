"""The Qt binding the widgets run on keeps Python's reference counts right."""

from __future__ import annotations

import sys

import PySide6
import pytest
from PySide6.QtCore import QTimer


def pyside_drops_none_references(calls: int = 200) -> bool:
    """True if void Qt calls take references from None (PySide6 6.12.0 on Python 3.11 does)."""
    timer = QTimer()
    before = sys.getrefcount(None)
    for _ in range(calls):
        timer.stop()
    return sys.getrefcount(None) <= before - calls // 2


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12 on")
def test_void_qt_calls_keep_none_references(qapp) -> None:
    assert not pyside_drops_none_references(), (
        f"PySide6 {PySide6.__version__} drops a reference to None on every void call on Python "
        f"{sys.version_info.major}.{sys.version_info.minor}: the app aborts after a few thousand calls. "
        "Pin PySide6-Essentials to <6.12 (6.11.3 is correct) or run on Python 3.12+."
    )
