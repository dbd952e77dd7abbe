"""Qt widgets and models: the only room that imports PySide6. Holds no business rule."""
