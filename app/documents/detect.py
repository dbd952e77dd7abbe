"""What a file is, decided by its content first and its name second.

Magic bytes win over the extension: a PDF named `.txt` is read as a PDF, a PNG named `.txt` is refused
as binary. Among text files (which have no magic) the extension picks the kind (Markdown, CSV, code in
a language...); an unknown extension or none with text inside is plain text, so `Makefile`, `.log` or
`.ini` files just work. Office files are ZIP archives: only one with `word/document.xml` is a DOCX.
Looking inside a ZIP inflates nothing but a few bytes of its `mimetype`, and only after `zip_parts` has
checked that its directory is of a sane size (a ZIP bomb can be a directory of millions of entries).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import PurePath

from app.documents.document import DocumentKind
from app.documents.errors import DocumentError
from app.documents.zip_parts import ZIP_ERRORS, open_zip

HEAD_BYTES = 8192

# Formats recognised by their first bytes that we do not read: (magic, offset, what a person calls it).
_BINARY_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "a PNG image"),
    (b"\xff\xd8\xff", 0, "a JPEG image"),
    (b"GIF87a", 0, "a GIF image"),
    (b"GIF89a", 0, "a GIF image"),
    (b"II*\x00", 0, "a TIFF image"),
    (b"MM\x00*", 0, "a TIFF image"),
    (b"BM", 0, "a BMP image"),
    (b"WEBP", 8, "a WebP image"),
    (b"ftyp", 4, "a video or audio file"),
    (b"ID3", 0, "an MP3 file"),
    (b"OggS", 0, "an Ogg audio file"),
    (b"fLaC", 0, "a FLAC audio file"),
    (b"\x7fELF", 0, "a program"),
    (b"MZ", 0, "a Windows program"),
    (b"\xcf\xfa\xed\xfe", 0, "a program"),
    (b"\xca\xfe\xba\xbe", 0, "a program or Java class"),
    (b"\x00asm", 0, "a WebAssembly module"),
    (b"\x1f\x8b", 0, "a gzip archive"),
    (b"BZh", 0, "a bzip2 archive"),
    (b"\xfd7zXZ\x00", 0, "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", 0, "a 7-Zip archive"),
    (b"Rar!\x1a\x07", 0, "a RAR archive"),
    (b"SQLite format 3\x00", 0, "an SQLite database"),
    (b"GGUF", 0, "a GGUF model file"),
    (b"{\\rtf", 0, "an RTF document"),
)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_MIMETYPE_BYTES = 200  # an OpenDocument or EPUB `mimetype` is one short line

_TEXT_KINDS_BY_EXTENSION: dict[str, DocumentKind] = {
    ".txt": "text", ".text": "text", ".log": "text", ".rst": "text", ".adoc": "text", ".org": "text",
    ".tex": "text",
    ".md": "markdown", ".markdown": "markdown", ".mdx": "markdown",
    ".csv": "csv", ".tsv": "csv",
    ".json": "json", ".jsonl": "json", ".ndjson": "json", ".geojson": "json",
    ".html": "html", ".htm": "html", ".xhtml": "html",
}

CODE_LANGUAGES: dict[str, str] = {
    ".py": "Python", ".pyi": "Python", ".ipynb": "Jupyter notebook JSON",
    ".js": "JavaScript", ".mjs": "JavaScript", ".cjs": "JavaScript", ".jsx": "JavaScript",
    ".ts": "TypeScript", ".tsx": "TypeScript",
    ".java": "Java", ".kt": "Kotlin", ".kts": "Kotlin", ".scala": "Scala", ".groovy": "Groovy",
    ".c": "C", ".h": "C", ".cpp": "C++", ".cc": "C++", ".cxx": "C++", ".hpp": "C++", ".hh": "C++",
    ".cs": "C#", ".go": "Go", ".rs": "Rust", ".swift": "Swift", ".m": "Objective-C", ".mm": "Objective-C",
    ".rb": "Ruby", ".php": "PHP", ".pl": "Perl", ".lua": "Lua", ".r": "R", ".jl": "Julia",
    ".dart": "Dart", ".zig": "Zig", ".nim": "Nim", ".hs": "Haskell", ".ml": "OCaml", ".fs": "F#",
    ".ex": "Elixir", ".exs": "Elixir", ".erl": "Erlang", ".clj": "Clojure", ".elm": "Elm",
    ".sh": "Shell", ".bash": "Shell", ".zsh": "Shell", ".fish": "Shell", ".ps1": "PowerShell",
    ".bat": "Batch", ".cmd": "Batch",
    ".sql": "SQL", ".graphql": "GraphQL", ".proto": "Protocol Buffers",
    ".css": "CSS", ".scss": "SCSS", ".less": "Less", ".vue": "Vue", ".svelte": "Svelte",
    ".xml": "XML", ".svg": "SVG", ".yaml": "YAML", ".yml": "YAML", ".toml": "TOML", ".ini": "INI",
    ".cfg": "INI", ".tf": "Terraform", ".nix": "Nix", ".cmake": "CMake", ".gradle": "Gradle",
    ".diff": "diff", ".patch": "diff",
}
_CODE_FILE_NAMES: dict[str, str] = {
    "makefile": "Makefile", "dockerfile": "Dockerfile", "cmakelists.txt": "CMake", "justfile": "just",
}

# Extensions that promise text: binary content under one of these is "binary", not "unsupported".
TEXT_EXTENSIONS = frozenset(_TEXT_KINDS_BY_EXTENSION) | frozenset(CODE_LANGUAGES)

SUPPORTED_TYPES = "PDF, Word (.docx), text, Markdown, source code, CSV, JSON and HTML"


@dataclass(frozen=True)
class Container:
    """What the first bytes say: 'pdf', 'zip', 'ole', 'binary' (with a description) or 'text'."""

    family: str
    description: str = ""


@dataclass(frozen=True)
class Detected:
    kind: DocumentKind
    language: str | None = None


def sniff(head: bytes) -> Container:
    """Classify by the first bytes only (enough to pick a size limit before reading everything)."""
    # PDF readers accept the header anywhere in the first kilobyte; so do we.
    if b"%PDF-" in head[:1024]:
        return Container("pdf")
    if head.startswith(_ZIP_MAGICS):
        return Container("zip")
    if head.startswith(_OLE_MAGIC):
        return Container("ole")
    for magic, offset, description in _BINARY_MAGIC:
        if head[offset:offset + len(magic)] == magic:
            if magic == b"WEBP" and not head.startswith(b"RIFF"):
                continue
            if magic == b"BM" and not _looks_like_bmp(head):
                continue
            if magic == b"MZ" and b"This program cannot be run in DOS mode" not in head[:512]:
                continue
            return Container("binary", description)
    return Container("text")


def _looks_like_bmp(head: bytes) -> bool:
    # "BM" also starts ordinary text ("BMW ..."); a real BMP has its pixel offset in a sane range.
    return len(head) >= 14 and 26 <= int.from_bytes(head[10:14], "little") < 4096 and head[6:10] == b"\0" * 4


def detect(name: str, data: bytes) -> Detected:
    """The kind of a whole file, or DocumentError(unsupported/binary/corrupt/encrypted) saying why not."""
    path = PurePath(name)
    extension = path.suffix.lower()
    container = sniff(data[:HEAD_BYTES])
    if container.family == "pdf":
        return Detected("pdf")
    if container.family == "zip":
        return _detect_zip(data, path.name, extension)
    if container.family == "ole":
        if extension in {".docx", ".xlsx", ".pptx"}:
            raise DocumentError(
                "encrypted",
                "Password-protected Office file: open it, remove the password, save, and attach again.",
            )
        raise DocumentError(
            "unsupported",
            "Old Office format (.doc, .xls, .ppt) is not supported: save it as .docx and attach again.",
        )
    if container.family == "binary":
        if extension in TEXT_EXTENSIONS:
            raise DocumentError(
                "binary", f"Not text: the file is {container.description}, though its name ends {extension}."
            )
        what = container.description[0].upper() + container.description[1:]
        raise DocumentError("unsupported", f"{what} cannot be attached. Supported: {SUPPORTED_TYPES}.")
    # Text under a .pdf or .docx name falls through to plain text here (content wins); the extractor
    # says so on the chip.
    return detect_text_kind(path.name)


def detect_text_kind(name: str) -> Detected:
    """For content that is text: the kind its name suggests ('text' when the name says nothing)."""
    path = PurePath(name)
    extension = path.suffix.lower()
    if extension in _TEXT_KINDS_BY_EXTENSION:
        return Detected(_TEXT_KINDS_BY_EXTENSION[extension])
    if extension in CODE_LANGUAGES:
        return Detected("code", CODE_LANGUAGES[extension])
    special = _CODE_FILE_NAMES.get(path.name.lower())
    if special:
        return Detected("code", special)
    return Detected("text")


def _detect_zip(data: bytes, name: str, extension: str) -> Detected:
    try:
        with open_zip(data, name, "Word files") as archive:
            names = set(archive.namelist())
            mimetype = _read_mimetype(archive) if "mimetype" in names else ""
    except DocumentError:
        if extension == ".docx":
            raise
        raise DocumentError("unsupported", "ZIP archives are not supported: unpack it and attach the files "
                            "inside.") from None
    except ZIP_ERRORS as exc:
        if extension == ".docx":
            raise DocumentError("corrupt", "Damaged Word file: it cannot be opened as a .docx.",
                                detail=repr(exc)) from exc
        raise DocumentError("unsupported", f"A damaged ZIP archive cannot be attached. "
                            f"Supported: {SUPPORTED_TYPES}.", detail=repr(exc)) from exc
    if "word/document.xml" in names:
        return Detected("docx")
    if extension == ".docx" or ("[Content_Types].xml" in names and any(n.startswith("word/") for n in names)):
        raise DocumentError("corrupt", "Damaged Word file: its main document part is missing.")
    if any(n.startswith("xl/") for n in names):
        what = "Excel workbooks are not supported: export the sheet as CSV and attach that."
    elif any(n.startswith("ppt/") for n in names):
        what = "PowerPoint files are not supported: export as PDF and attach that."
    elif mimetype.startswith("application/vnd.oasis.opendocument"):
        what = "OpenDocument files are not supported: save as .docx or PDF and attach that."
    elif mimetype == "application/epub+zip":
        what = "EPUB books are not supported: convert to PDF or text and attach that."
    else:
        what = "ZIP archives are not supported: unpack it and attach the files inside."
    raise DocumentError("unsupported", what)


def _read_mimetype(archive: zipfile.ZipFile) -> str:
    # Read a few bytes, never the whole member: a bomb can hide behind any name.
    with archive.open("mimetype") as member:
        return member.read(_MIMETYPE_BYTES).decode("ascii", "replace")
