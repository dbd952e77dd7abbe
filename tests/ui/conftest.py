"""Qt widget tests: the offscreen platform (set in tests/conftest.py), real widgets, one QApplication."""
