"""Documents in the chat: preparing a dropped file, counting tokens, the search index of a conversation.

Qt-free and blocking (the window runs these off the UI thread):

- **Preparing** a file: extract it (progress and cancel are the caller's callables), count the tokens of
  its prompt block with the loaded model's tokenizer, or estimate them (flagged) when no model is
  loaded or the engine cannot answer, and give back a `PreparedDocument` that becomes the store's
  `NewAttachment` (its text is the document's record, see `attachment_records`). A file whose bytes the
  conversation already holds is taken from the store instead of being extracted again.
- **Search mode**: one `DocumentIndex` per conversation at `<data>/documents/<conversation id>.sqlite3`,
  brought in line with the conversation's search-mode attachments when a session opens (a lookup per
  document when it is already indexed) and deleted with the conversation.
- **Counting** for the context meter (`context_meter`): the engine's tokenizer where a model is
  loaded, its exact prompt tokenization where it offers one, else estimates, always flagged.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from app.chat import attachment_records
from app.documents import (
    DEFAULT_LIMITS,
    CancelCheck,
    CountTokens,
    DocumentIndex,
    ExtractedDocument,
    ExtractionCancelled,
    ExtractionProgress,
    ProgressCallback,
    SizeLimits,
    TokenCount,
    count_attachment_tokens,
    estimate_tokens,
    extract,
)
from app.engine.interface import Engine, EngineFailure
from app.harmony.segments import Segment, Special, Text
from app.store import Attachment, AttachmentMode, NewAttachment, Store

log = logging.getLogger(__name__)

COUNT_TIMEOUT_S = 60.0  # a tokenizer answer for a long document; past that, the estimate stands in
HASH_BLOCK = 1 << 20
INDEX_FOLDER = "documents"
# What a tokenizer call can run into while the engine restarts, loads, or closes: the estimate stands in.
ENGINE_TROUBLE = (EngineFailure, concurrent.futures.TimeoutError, concurrent.futures.CancelledError,
                  TimeoutError, OSError, RuntimeError)


# --------------------------------------------------------------------------------------- tokens


def engine_counter(engine: Engine | None, timeout_s: float = COUNT_TIMEOUT_S) -> CountTokens | None:
    """The loaded model's tokenizer as a blocking callable, or None when no model is loaded."""
    if engine is None or engine.model is None:
        return None

    def count(texts: Sequence[str]) -> list[int]:
        return engine.count_tokens(list(texts)).result(timeout=timeout_s)

    return count


def count_or_estimate(texts: Sequence[str], count_tokens: CountTokens | None) -> list[TokenCount]:
    """Exact counts through the tokenizer; estimates (flagged) without one or when the engine fails."""
    if count_tokens is not None:
        try:
            counts = count_tokens(list(texts))
            if len(counts) == len(texts):
                return [TokenCount(int(n), estimated=False) for n in counts]
            log.warning("tokenizer gave %d counts for %d texts; estimating", len(counts), len(texts))
        except ENGINE_TROUBLE as exc:
            # The engine restarting or busy loading must not fail an attachment: the estimate is flagged.
            log.warning("token count failed (%s); estimating", exc)
    return [TokenCount(estimate_tokens(text), estimated=True) for text in texts]


class SegmentCounter:
    """Tokens of rendered prompt segments: the engine's exact tokenization where its capabilities offer
    one (`Engine.tokenize`), else text counts plus one per special token, else estimates."""

    def __init__(self, engine: Engine | None, timeout_s: float = COUNT_TIMEOUT_S) -> None:
        self._engine = engine if engine is not None and engine.model is not None else None
        self._timeout_s = timeout_s

    @property
    def exact(self) -> bool:
        return self._engine is not None

    def texts(self, texts: Sequence[str]) -> list[TokenCount]:
        return count_or_estimate(texts, engine_counter(self._engine, self._timeout_s))

    def segments(self, segments: Sequence[Segment]) -> TokenCount:
        engine = self._engine
        if engine is not None and engine.capabilities.tokenize:
            try:
                return TokenCount(len(engine.tokenize(list(segments)).result(timeout=self._timeout_s)), False)
            except ENGINE_TROUBLE as exc:
                log.warning("prompt tokenization failed (%s); counting its texts", exc)
        pieces = [s.text for s in segments if isinstance(s, Text)]
        specials = sum(isinstance(s, Special) for s in segments)
        counts = self.texts(pieces) if pieces else []
        return TokenCount(sum(c.tokens for c in counts) + specials, any(c.estimated for c in counts))


# ------------------------------------------------------------------------------------ preparing


@dataclass(frozen=True)
class PreparedDocument:
    """A file ready to send: its document, what its prompt block costs, and whether it was re-used."""

    document: ExtractedDocument
    tokens: TokenCount  # of the inline prompt block
    reused: bool = False  # taken from a stored attachment of the conversation (same bytes), not extracted

    def new_attachment(self, mode: AttachmentMode = "inline") -> NewAttachment:
        return attachment_records.new_attachment(self.document, self.tokens, mode)


def stored_documents(store: Store, conversation_id: int | None) -> dict[str, ExtractedDocument]:
    """The conversation's documents by SHA-256, from their stored records (rows without one left out)."""
    if conversation_id is None:
        return {}
    documents: dict[str, ExtractedDocument] = {}
    for attachment in store.list_attachments(conversation_id):
        if attachment.sha256 in documents:
            continue
        try:
            document = attachment_records.stored_document(attachment)
        except ValueError as exc:
            log.warning("attachment %s: unreadable record (%s)", attachment.id, exc)
            continue
        if document is not None:
            documents[attachment.sha256] = document
    return documents


def prepare_document(
    path: str | os.PathLike[str],
    *,
    count_tokens: CountTokens | None,
    known: Mapping[str, ExtractedDocument] | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    limits: SizeLimits = DEFAULT_LIMITS,
) -> PreparedDocument:
    """Extract (or re-use) and count one file. Raises DocumentError for bad input, ExtractionCancelled."""
    path = Path(path)
    if known:
        digest = _sha256(path, progress, cancel)
        stored = known.get(digest) if digest is not None else None
        if stored is not None:
            document = replace(stored, name=path.name)  # the same bytes under the name it has now
            return PreparedDocument(document, _block_tokens(document, count_tokens), reused=True)
    document = extract(path, progress=progress, cancel=cancel, limits=limits)
    if cancel is not None and cancel():
        raise ExtractionCancelled()
    return PreparedDocument(document, _block_tokens(document, count_tokens))


def recount(prepared: PreparedDocument, count_tokens: CountTokens | None) -> PreparedDocument:
    """The same document counted again (an estimate made before a model was loaded, now exact)."""
    return replace(prepared, tokens=_block_tokens(prepared.document, count_tokens))


def _block_tokens(document: ExtractedDocument, count_tokens: CountTokens | None) -> TokenCount:
    if count_tokens is not None:
        try:
            return count_attachment_tokens([document], count_tokens)[0]
        except (*ENGINE_TROUBLE, ValueError) as exc:
            log.warning("token count of %s failed (%s); estimating", document.name, exc)
    return count_attachment_tokens([document], None)[0]


def _sha256(path: Path, progress: ProgressCallback | None, cancel: CancelCheck | None) -> str | None:
    """The file's SHA-256, or None when it cannot be read (extraction then says why, in its words)."""
    digest = hashlib.sha256()
    try:
        total = path.stat().st_size
        done = 0
        with path.open("rb") as handle:
            while block := handle.read(HASH_BLOCK):
                if cancel is not None and cancel():
                    raise ExtractionCancelled()
                digest.update(block)
                done += len(block)
                if progress is not None:
                    progress(ExtractionProgress("reading", done, total, "bytes"))
    except OSError:
        return None
    return digest.hexdigest()


# ---------------------------------------------------------------------------------- search mode


def index_path(data_dir: Path, conversation_id: int) -> Path:
    return data_dir / INDEX_FOLDER / f"{conversation_id}.sqlite3"


def search_attachments(attachments: Sequence[Attachment]) -> list[Attachment]:
    return [a for a in attachments if a.mode == "search"]


def sync_index(index: DocumentIndex, attachments: Sequence[Attachment]) -> int:
    """Make the index hold exactly the search-mode documents among `attachments`; returns how many.

    Present documents cost a lookup (their records are not even decoded); missing ones (a new file, a
    deleted or rebuilt index) are chunked and added; documents no longer attached (an edited message
    took them away) are removed, so the model cannot search what the conversation no longer has.
    """
    wanted: dict[str, Attachment] = {}
    for attachment in search_attachments(attachments):
        wanted.setdefault(attachment.sha256, attachment)
    for attachment in wanted.values():
        if index.get(attachment.sha256) is not None:
            continue
        try:
            document = attachment_records.stored_document(attachment)
        except ValueError as exc:
            log.warning("attachment %s cannot be indexed: %s", attachment.id, exc)
            continue
        if document is None:
            log.warning("attachment %s holds no document record; not searchable", attachment.id)
            continue
        index.add(document)
    for indexed in index.documents():
        if indexed.sha256 not in wanted:
            index.remove(indexed.sha256)
    return len(index.documents())


def delete_index_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
