"""The chat domain and the turn loop: render → engine → parse → tools → persist.

Plain Python, no Qt: the UI observes it through the events in `events.py`.
"""
