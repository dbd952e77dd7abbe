"""Painted icons: every name draws something, in the colour asked for."""

from __future__ import annotations

from app.ui.messages.icons import NAMES, icon


def test_every_icon_draws_in_its_colour(qapp) -> None:
    for name in NAMES:
        image = icon(name, "#ff0000", 16).pixmap(32, 32).toImage()
        colours = {image.pixelColor(x, y).name() for x in range(image.width()) for y in range(image.height())
                   if image.pixelColor(x, y).alpha() == 255}
        assert colours == {"#ff0000"}, name
