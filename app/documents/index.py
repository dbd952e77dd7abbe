"""Search mode: one conversation's documents in an SQLite FTS5 index, queried like gpt-oss's browser.

Why FTS5 and not a BM25 of our own: it ships inside Python's sqlite3, ranks with BM25, stems English
(porter) and folds accents (unicode61), keeps the index on disk so a reopened conversation searches at
once without re-chunking, and answers in milliseconds where a pure-Python scorer over 100,000 chunks
would take seconds. No embedding model is needed, so search works offline with nothing more to load.

The queries are those of the document tool (the tools room wraps them, the way gpt-oss's browser
tool wraps a search backend): `search(query, top_n)` ranks passages and cites file, page and lines;
`open(result_id or document, line, num_lines)` shows numbered lines; `find(pattern, document)` lists
lines containing a text. Their errors (`SearchError`) are worded for the model, which can correct its
call. Chunk texts partition the document's lines, so the index stores each text once and `open`/`find`
work from it alone, without the extracted document in memory.

The index is derived data: the conversation's attachments (stored with their text) are the truth. A
file that is damaged or from another schema version is deleted and rebuilt empty, and the chat adds its
search-mode documents again (`add` is idempotent by SHA-256, so re-adding a present one is a lookup).
One connection guarded by a lock: the tool thread and the UI's attach thread may share an index.
"""

from __future__ import annotations

import logging
import math
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from app.documents.chunking import Line, chunk_document
from app.documents.document import ExtractedDocument
from app.documents.results import Citation, FindMatch, FindResult, IndexedDocument, SearchHit, Window
from app.errors import OssianError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
DEFAULT_TOP_N = 10
MAX_TOP_N = 50
DEFAULT_WINDOW_LINES = 40
MAX_WINDOW_LINES = 200
MAX_WINDOW_CHARS = 8000  # about 2,000 tokens: one `open` must not flood the context
FIND_SHOW_LINES = 4  # the match and three lines after it, as the browser tool shows
MAX_FIND_RESULTS = 50
MAX_QUERY_TERMS = 32
_MARK_START, _MARK_END = "\x02", "\x03"
_TERM_RE = re.compile(r"\w+")
_MARKED_RE = re.compile(f"{_MARK_START}(.*?){_MARK_END}", re.DOTALL)

_SCHEMA = f"""
CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    ref TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    paged INTEGER NOT NULL,
    page_count INTEGER,
    line_count INTEGER NOT NULL
);
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    page INTEGER,
    line_start INTEGER NOT NULL,
    line_end INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX chunks_by_line ON chunks(document_id, line_start);
CREATE VIRTUAL TABLE chunks_fts USING fts5(
    text, content='chunks', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
);
PRAGMA user_version = {SCHEMA_VERSION};
"""


class SearchError(OssianError, ValueError):
    """A tool call the index cannot answer (unknown document, line out of range, empty query).

    The message is written for the model (it says what to do instead), and for the log.
    """


class DocumentIndex:
    """The search-mode documents of one conversation. `path=None` keeps the index in memory."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._lock = threading.RLock()
        self._connection = self._connect()

    # -- lifetime ---------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self.path is None:
            connection = sqlite3.connect(":memory:", check_same_thread=False)
            self._create(connection)
            return connection
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = self._open_file()
        except sqlite3.DatabaseError as exc:
            log.warning("document index %s is unusable (%r); rebuilding it empty", self.path, exc)
            self._delete_files()
            connection = self._open_file()
        return connection

    def _open_file(self) -> sqlite3.Connection:
        assert self.path is not None
        connection = sqlite3.connect(self.path, check_same_thread=False)
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            tables = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if version == SCHEMA_VERSION:
                connection.execute("SELECT count(*) FROM chunks_fts").fetchone()
            elif version == 0 and tables == 0:
                connection.execute("PRAGMA journal_mode = WAL")
                self._create(connection)
            else:
                raise sqlite3.DatabaseError(f"schema version {version}, expected {SCHEMA_VERSION}")
            connection.execute("PRAGMA foreign_keys = ON")
            connection.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            connection.close()
            raise
        return connection

    @staticmethod
    def _create(connection: sqlite3.Connection) -> None:
        try:
            connection.executescript(_SCHEMA)
        except sqlite3.OperationalError as exc:
            if "fts5" in str(exc):
                raise RuntimeError(
                    "This Python's SQLite was built without FTS5, which document search needs."
                ) from exc
            raise
        connection.execute("PRAGMA foreign_keys = ON")

    def _delete_files(self) -> None:
        assert self.path is not None
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def __enter__(self) -> DocumentIndex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- documents --------------------------------------------------------------------------------

    def add(self, document: ExtractedDocument) -> IndexedDocument:
        """Index a document (chunk it, store the chunks); a document already here is returned as is."""
        with self._lock:
            existing = self.get(document.sha256)
            if existing is not None:
                return existing
            chunks = list(chunk_document(document))
            line_count = chunks[-1].line_end if chunks else 0
            with self._connection:
                cursor = self._connection.execute(
                    "INSERT INTO documents (ref, name, sha256, kind, paged, page_count, line_count)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (self._unique_ref(document.name), document.name, document.sha256, document.kind,
                     int(document.paged), document.page_count, line_count),
                )
                document_id = cursor.lastrowid
                self._connection.executemany(
                    "INSERT INTO chunks (document_id, page, line_start, line_end, text)"
                    " VALUES (?, ?, ?, ?, ?)",
                    ((document_id, c.page, c.line_start, c.line_end, c.text) for c in chunks),
                )
                self._connection.execute(
                    "INSERT INTO chunks_fts (rowid, text) SELECT id, text FROM chunks WHERE document_id = ?",
                    (document_id,),
                )
            log.info("indexed %s: %d chunks, %d lines", document.name, len(chunks), line_count)
            added = self.get(document.sha256)
            assert added is not None
            return added

    def remove(self, sha256: str) -> bool:
        """Take a document out of the index; False if it was not there."""
        with self._lock, self._connection:
            row = self._connection.execute("SELECT id FROM documents WHERE sha256 = ?", (sha256,)).fetchone()
            if row is None:
                return False
            # External-content FTS5 forgets a row only when told its old text.
            self._connection.execute(
                "INSERT INTO chunks_fts (chunks_fts, rowid, text)"
                " SELECT 'delete', id, text FROM chunks WHERE document_id = ?",
                (row[0],),
            )
            self._connection.execute("DELETE FROM documents WHERE id = ?", (row[0],))
            return True

    def get(self, sha256: str) -> IndexedDocument | None:
        with self._lock:
            row = self._connection.execute(
                f"SELECT {_DOCUMENT_COLUMNS} FROM documents WHERE sha256 = ?", (sha256,)
            ).fetchone()
            return _document(row) if row else None

    def documents(self) -> list[IndexedDocument]:
        """The indexed documents in the order they were added."""
        return list(self._documents_by_id().values())

    def _documents_by_id(self) -> dict[int, IndexedDocument]:
        with self._lock:
            rows = self._connection.execute(
                f"SELECT id, {_DOCUMENT_COLUMNS} FROM documents ORDER BY id"
            ).fetchall()
        return {row[0]: _document(row[1:]) for row in rows}

    def _unique_ref(self, name: str) -> str:
        taken = {row[0] for row in self._connection.execute("SELECT ref FROM documents")}
        ref, number = name, 2
        while ref in taken:
            ref, number = f"{name} ({number})", number + 1
        return ref

    def resolve(self, document: str) -> IndexedDocument:
        """A document by its ref, or by a name that only one document has (case ignored)."""
        with self._lock:
            known = self.documents()
        for candidate in known:
            if candidate.ref == document:
                return candidate
        folded = document.casefold()
        matches = [d for d in known if folded in (d.ref.casefold(), d.name.casefold())]
        if len(matches) == 1:
            return matches[0]
        listing = ", ".join(f"`{d.ref}`" for d in known) or "none"
        if matches:
            raise SearchError(f"Several documents are named `{document}`; use one of: {listing}.")
        raise SearchError(f"No document `{document}`. Documents: {listing}.")

    # -- the document tool's queries --------------------------------------------------------------

    def search(self, query: str, top_n: int = DEFAULT_TOP_N,
               documents: Sequence[str] | None = None) -> list[SearchHit]:
        """Passages ranked by BM25 for any of the query's words (stemmed), best first."""
        terms = list(dict.fromkeys(term.lower() for term in _TERM_RE.findall(query)))[:MAX_QUERY_TERMS]
        if not terms:
            raise SearchError("The search query has no words; search for words that appear in the text.")
        top_n = max(1, min(_whole(top_n, "top_n"), MAX_TOP_N))
        # Each term quoted: the user's text never becomes FTS5 syntax (NEAR, *, column filters...).
        match = " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)
        sql = (
            "SELECT c.id, c.document_id, c.page, c.line_start, c.line_end, bm25(chunks_fts),"
            f" highlight(chunks_fts, 0, '{_MARK_START}', '{_MARK_END}')"
            " FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid WHERE chunks_fts MATCH ?"
        )
        parameters: list[object] = [match]
        with self._lock:
            if documents is not None:
                ids = [self._document_id(self.resolve(d)) for d in documents]
                if not ids:
                    return []
                sql += f" AND c.document_id IN ({', '.join('?' * len(ids))})"
                parameters.extend(ids)
            sql += " ORDER BY bm25(chunks_fts), c.id LIMIT ?"
            parameters.append(top_n)
            rows = self._connection.execute(sql, parameters).fetchall()
            by_id = self._documents_by_id()
        weights = _term_weights(row[6] for row in rows)
        return [_hit(row, by_id[row[1]], weights) for row in rows]

    def open(self, target: int | str, line: int | None = None,
             num_lines: int = DEFAULT_WINDOW_LINES) -> Window:
        """Numbered lines: of a search result (`target` = its result_id) or of a document (its ref).

        `line` is where to start (default: the result's first line, or line 1 of a document).
        """
        num_lines = max(1, min(_whole(num_lines, "num_lines"), MAX_WINDOW_LINES))
        with self._lock:
            if isinstance(target, int) and not isinstance(target, bool):
                row = self._connection.execute(
                    "SELECT document_id, line_start FROM chunks WHERE id = ?", (target,)
                ).fetchone()
                if row is None:
                    raise SearchError(f"No search result {target}; use a result_id from the latest search.")
                document = self._documents_by_id()[row[0]]
                start = row[1] if line is None else _whole(line, "line")
            else:
                document = self.resolve(str(target))
                start = 1 if line is None else _whole(line, "line")
            if not 1 <= start <= document.line_count:
                raise SearchError(
                    f"Line {start} is outside `{document.ref}`, which has lines 1-{document.line_count}."
                )
            lines = self._lines(document, start, start + num_lines - 1)
        shown: list[Line] = []
        chars = 0
        for item in lines:
            chars += len(item.text) + 1
            if shown and chars > MAX_WINDOW_CHARS:
                break
            shown.append(item)
        return Window(document, tuple(shown), _citation(document, shown))

    def find(self, pattern: str, document: str | None = None,
             max_results: int = MAX_FIND_RESULTS) -> FindResult:
        """Lines containing `pattern` (case ignored), each with the lines after it, in document order."""
        max_results = max(1, _whole(max_results, "max_results"))
        if not str(pattern).strip():
            raise SearchError("The find pattern is empty; give the text to look for.")
        needle = pattern.casefold()
        matches: list[FindMatch] = []
        with self._lock:
            targets = [self.resolve(document)] if document is not None else self.documents()
            for target in targets:
                rows = self._connection.execute(
                    "SELECT line_start, text FROM chunks WHERE document_id = ? ORDER BY line_start",
                    (self._document_id(target),),
                ).fetchall()
                next_free = 1  # the lines shown with a match are not searched again (as the browser does)
                for line_start, text in rows:
                    if needle not in text.casefold():  # most chunks: one test, no splitting
                        continue
                    for offset, line_text in enumerate(text.split("\n")):
                        number = line_start + offset
                        if number < next_free or needle not in line_text.casefold():
                            continue
                        if len(matches) == max_results:
                            return FindResult(pattern, tuple(matches), truncated=True)
                        shown = self._lines(target, number, number + FIND_SHOW_LINES - 1)
                        matches.append(FindMatch(target, number, tuple(shown), _citation(target, shown)))
                        next_free = number + FIND_SHOW_LINES
        return FindResult(pattern, tuple(matches), truncated=False)

    # -- helpers ----------------------------------------------------------------------------------

    def _document_id(self, document: IndexedDocument) -> int:
        row = self._connection.execute(
            "SELECT id FROM documents WHERE sha256 = ?", (document.sha256,)
        ).fetchone()
        if row is None:
            raise SearchError(f"`{document.ref}` is no longer in the index.")
        return int(row[0])

    def _lines(self, document: IndexedDocument, first: int, last: int) -> list[Line]:
        rows = self._connection.execute(
            "SELECT page, line_start, text FROM chunks"
            " WHERE document_id = ? AND line_end >= ? AND line_start <= ? ORDER BY line_start",
            (self._document_id(document), first, last),
        ).fetchall()
        lines: list[Line] = []
        for page, line_start, text in rows:
            for offset, line_text in enumerate(text.split("\n")):
                number = line_start + offset
                if first <= number <= last:
                    lines.append(Line(number, page, line_text))
        return lines


_DOCUMENT_COLUMNS = "ref, name, sha256, kind, paged, page_count, line_count"


def _whole(value: object, name: str) -> int:
    """A tool argument as an int; the model sometimes sends "12" or 12.0, never let it crash a query."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = float("nan")
    if not math.isfinite(number) or number != int(number):
        raise SearchError(f"`{name}` must be a whole number, not {value!r}.")
    return int(number)


def _document(row: tuple) -> IndexedDocument:
    ref, name, sha256, kind, paged, page_count, line_count = row
    return IndexedDocument(ref, name, sha256, kind, bool(paged), page_count, line_count)


def _citation(document: IndexedDocument, lines: Sequence[Line]) -> Citation:
    if not lines:
        return Citation(document.name, None, 0, 0)
    last_page = lines[-1].page if lines[-1].page != lines[0].page else None
    return Citation(document.name, lines[0].page, lines[0].number, lines[-1].number, last_page)


def _term_weights(highlighted: Iterable[str]) -> dict[str, float]:
    """Matched words weighted by rarity in this result set: 'zeppelin' outweighs 'the'."""
    counts = Counter(word.casefold() for text in highlighted for word in _MARKED_RE.findall(text))
    return {word: 1.0 / count for word, count in counts.items()}


def _hit(row: tuple, document: IndexedDocument, weights: dict[str, float]) -> SearchHit:
    chunk_id, _, page, line_start, line_end, rank, marked = row
    marked_lines = marked.split("\n")

    def line_score(index: int) -> tuple[float, int]:
        words = _MARKED_RE.findall(marked_lines[index])
        return sum(weights.get(word.casefold(), 0.0) for word in words), -index

    # The line with the rarest matched words is where the answer most likely is.
    best = max(range(len(marked_lines)), key=line_score)
    around = marked_lines[max(0, best - 1):best + 2]
    snippet = "\n".join(line.replace(_MARK_START, "").replace(_MARK_END, "") for line in around).strip("\n")
    title = f"{document.name}, page {page}" if page is not None else document.name
    return SearchHit(
        result_id=chunk_id,
        document=document,
        title=title,
        snippet=snippet,
        match_line=line_start + best,
        citation=Citation(document.name, page, line_start, line_end),
        score=-rank,
    )
