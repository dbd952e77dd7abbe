"""Documents in the chat: text extraction, the prompt block, token budgeting and search mode.

Everything here runs without Qt and without llama.cpp; token counts come in through a callable. The
names below are the room's public surface (pinned by a test); modules behind them are private detail.
"""

from app.documents.budget import (
    DEFAULT_RESERVE_TOKENS,
    SEARCH_MODE_TOKENS,
    AttachmentCost,
    Choice,
    ContextBudget,
    RaiseContext,
    UseSearchMode,
    plan_context,
)
from app.documents.chunking import Chunk, Line, chunk_document, document_lines
from app.documents.document import DocumentKind, ExtractedDocument, PageSpan
from app.documents.errors import DocumentError, DocumentErrorKind, ExtractionCancelled
from app.documents.extract import DEFAULT_LIMITS, extract
from app.documents.index import DocumentIndex, SearchError
from app.documents.progress import CancelCheck, ExtractionProgress, ProgressCallback
from app.documents.prompt_block import format_attachments, format_for_prompt
from app.documents.reading import SizeLimits
from app.documents.render import render_find, render_search, render_window
from app.documents.results import Citation, FindMatch, FindResult, IndexedDocument, SearchHit, Window
from app.documents.tokens import (
    CountTokens,
    TokenCount,
    count_attachment_tokens,
    count_texts,
    estimate_tokens,
)

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_RESERVE_TOKENS",
    "SEARCH_MODE_TOKENS",
    "AttachmentCost",
    "CancelCheck",
    "Choice",
    "Chunk",
    "Citation",
    "ContextBudget",
    "CountTokens",
    "DocumentError",
    "DocumentErrorKind",
    "DocumentIndex",
    "DocumentKind",
    "ExtractedDocument",
    "ExtractionCancelled",
    "ExtractionProgress",
    "FindMatch",
    "FindResult",
    "IndexedDocument",
    "Line",
    "PageSpan",
    "ProgressCallback",
    "RaiseContext",
    "SearchError",
    "SearchHit",
    "SizeLimits",
    "TokenCount",
    "UseSearchMode",
    "Window",
    "chunk_document",
    "count_attachment_tokens",
    "count_texts",
    "document_lines",
    "estimate_tokens",
    "extract",
    "format_attachments",
    "format_for_prompt",
    "plan_context",
    "render_find",
    "render_search",
    "render_window",
]
