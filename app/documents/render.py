"""The index's answers as text for the model, in the manner of gpt-oss's browser tool.

Numbered lines read `L{n}: text` like the browser's pages; each result names its citation (file, page,
lines) so the model can cite it and the chat can link it. This is a default the document tool may use
as is; the tool owns its final wording.
"""

from __future__ import annotations

from app.documents.prompt_block import page_marker
from app.documents.results import FindResult, SearchHit, Window


def render_search(query: str, hits: list[SearchHit]) -> str:
    if not hits:
        return f"No results for `{query}`. Try other words, or `find` an exact phrase in a document."
    blocks = [f"Search results for `{query}` ({len(hits)}):"]
    for hit in hits:
        blocks.append(f"[result {hit.result_id}] {hit.citation}\n{hit.snippet}")
    return "\n\n".join(blocks)


def render_window(window: Window) -> str:
    document = window.document
    if not window.lines:
        return f"{document.ref}: no lines to show."
    shown = window.citation
    header = f"{document.ref}: lines {shown.line_start}-{shown.line_end} of {document.line_count}"
    if document.paged and document.page_count is not None:
        header += f" ({document.page_count} pages)"
    body: list[str] = [header]
    page = None
    for line in window.lines:
        if line.page is not None and line.page != page:
            body.append(page_marker(line.page))
            page = line.page
        body.append(f"L{line.number}: {line.text}")
    if window.has_more:
        body.append(f"(more: open `{document.ref}` at line {shown.line_end + 1})")
    return "\n".join(body)


def render_find(result: FindResult) -> str:
    if not result.matches:
        return f"No `find` results for `{result.pattern}`."
    blocks = [f"Find results for `{result.pattern}` ({len(result.matches)}"
              f"{', more not shown' if result.truncated else ''}):"]
    for match in result.matches:
        lines = "\n".join(f"L{line.number}: {line.text}" for line in match.lines)
        blocks.append(f"# match in {match.citation}\n{lines}")
    return "\n\n".join(blocks)
