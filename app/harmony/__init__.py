"""The Harmony format gpt-oss speaks: render conversations to prompt segments, parse token streams.

Standard library only; nothing else in the app is imported from here.
"""
