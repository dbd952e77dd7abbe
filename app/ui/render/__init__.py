"""Markdown and code to the HTML subset Qt's rich text shows: plain Python, no Qt inside.

`stream` turns a growing Markdown text into pieces (prose HTML, code blocks) where finished blocks are
rendered once and only the open tail is rendered again; `markdown` is the markdown-it set-up for chat
answers; `highlight` lexes code with pygments in resumable slices; `formatting` holds the small
presentation helpers (durations, tool arguments, sizes) the message widgets share.
"""
