"""Benchmark of documents in the chat: extraction, token counting, search, and follow-up latency.

Each figure is printed beside a baseline measured in the same run, so the ratio shows what Ossian adds:

- extraction of a generated 300-page PDF: `extract()` against a bare pypdf loop over the same bytes;
- extraction of a 3,000-paragraph DOCX: `extract()` against joining python-docx's paragraph texts;
- extraction of a 5 MB text file: `extract()` against `Path.read_text` of the same file;
- token counting of the 5 MB text's prompt block: through the engine's worker (the app's path) against
  llama.cpp's tokenizer called in this process, and the reference (openai-harmony's o200k_harmony, whose
  count the engine's must equal) and the no-model estimate beside it;
- search mode: indexing the 5 MB text and a query, against a bare FTS5 query on the same index;
- time to first token of a follow-up question about a document of 100,000 tokens on the tiny gpt-oss
  model, without prefix reuse (the whole prompt evaluated) and with it (the document's prefix reused
  from the cache, only the new turn evaluated). The cold evaluation takes minutes on 2 cores.

    flock /tmp/ossian-heavy.lock .venv/bin/python bench/documents.py [--repeat N] [--doc-tokens N]

`--doc-tokens 0` skips the time-to-first-token part. Test files are generated once into .cache/fixtures.
Every count uses gpt-oss's real tokenizer (the tiny model with the o200k_harmony vocabulary) unless
`--vocabulary tiny` asks for the small byte-level one the figures before issue 18 used.
"""

from __future__ import annotations

import argparse
import io
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("OSSIAN_HOME", tempfile.mkdtemp(prefix="ossian-bench-"))

import docx
import pypdf

from app.documents import DocumentIndex, estimate_tokens, extract, format_for_prompt
from app.engine.client import WorkerEngine
from app.engine.interface import Done, EngineError, GenerateRequest, LoadPlan, SamplingSettings, TokenEvent
from app.harmony import ASSISTANT, SYSTEM, USER, Message, SystemContent, render_conversation
from fixtures.documents import bench_docx, bench_pdf, bench_text
from fixtures.tiny_models import tiny_gpt_oss_model, tiny_gpt_oss_real_vocabulary_model

QUESTIONS = ("What does the document say about the harbour?", "And what about the granite meadow?")
VOCABULARIES = {"real": "gpt-oss's o200k_harmony", "tiny": "the tiny byte-level vocabulary"}
MODELS: dict[str, Callable[[], Path]] = {"real": tiny_gpt_oss_real_vocabulary_model,
                                         "tiny": tiny_gpt_oss_model}


def median_s(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def paired_s(ours: Callable[[], object], base: Callable[[], object], runs: int) -> tuple[float, float]:
    """Medians of both, run alternately so that load from elsewhere on the machine hits both alike."""
    ours_times, base_times = [], []
    for _ in range(runs):
        ours_times.append(median_s(ours, 1))
        base_times.append(median_s(base, 1))
    return statistics.median(ours_times), statistics.median(base_times)


def row(name: str, size: str, ours: float, base: float | None, unit: str = "s") -> None:
    def fmt(seconds: float) -> str:
        return f"{seconds * 1000:9.1f} ms" if unit == "ms" else f"{seconds:9.3f} s "

    base_text = fmt(base) if base is not None else f"{'-':>12}"
    ratio = f"{ours / base:.3g}x" if base else "-"
    print(f"{name:46} {size:>16} {fmt(ours)} {base_text} {ratio:>8}")


def header(title: str) -> None:
    print(f"\n{title}")
    print(f"{'case':46} {'size':>16} {'Ossian':>12} {'baseline':>12} {'ratio':>8}")


def extraction(runs: int) -> str:
    pdf, word, text = bench_pdf(), bench_docx(), bench_text()
    header("extraction (baseline: bare pypdf / python-docx loops over the same file, Path.read_text)")
    pdf_bytes = pdf.read_bytes()

    def bare_pdf() -> None:
        reader = pypdf.PdfReader(io.BytesIO(pdf_bytes))
        for page in reader.pages:
            page.extract_text()

    ours, base = paired_s(lambda: extract(pdf), bare_pdf, runs)
    pages = len(pypdf.PdfReader(io.BytesIO(pdf_bytes)).pages)
    row(f"300-page PDF ({pages / ours:,.0f} pages/s)", f"{len(pdf_bytes) / 1e6:.1f} MB", ours, base)

    def bare_docx() -> str:
        return "\n".join(paragraph.text for paragraph in docx.Document(str(word)).paragraphs)

    ours, base = paired_s(lambda: extract(word), bare_docx, runs)
    paragraphs = len(docx.Document(str(word)).paragraphs)
    row(f"3,000-paragraph DOCX ({paragraphs / ours:,.0f} paragraphs/s)",
        f"{word.stat().st_size / 1e6:.1f} MB", ours, base)
    ours, base = paired_s(lambda: extract(text), lambda: text.read_text(encoding="utf-8"), runs)
    size = text.stat().st_size / 1e6
    row(f"5 MB text ({size / ours:,.0f} MB/s)", f"{size:.1f} MB", ours, base)
    return format_for_prompt(extract(text))


def token_counting(block: str, runs: int, engine: WorkerEngine, model: Path, vocabulary_name: str) -> None:
    import llama_cpp  # the bench's baseline only: the app tokenizes in the engine's worker

    vocabulary = llama_cpp.Llama(str(model), vocab_only=True, verbose=False)
    header(f"token counting of the 5 MB text's prompt block, {VOCABULARIES[vocabulary_name]} "
           "(baseline: llama.cpp's tokenizer in this process)")
    runs_done = iter(range(1_000_000))

    def through_engine() -> int:
        # A different text each run: the worker remembers counts of texts it has seen.
        return engine.count_tokens([f"{block}\n{next(runs_done)}"]).result()[0]

    count = through_engine()
    ours, base = paired_s(through_engine,
                          lambda: vocabulary.tokenize(block.encode(), add_bos=False, special=False), runs)
    row(f"engine count_tokens ({count / ours / 1e6:.2f} M tokens/s)", f"{count:,} tokens", ours, base)
    if vocabulary_name == "real":
        from fixtures.o200k import reference_encoding

        encoding = reference_encoding()
        reference = len(encoding.encode(block, disallowed_special=()))
        engine_count = engine.count_tokens([block]).result()[0]
        ours = median_s(lambda: encoding.encode(block, disallowed_special=()), runs)
        row(f"openai-harmony (reference; engine {'==' if engine_count == reference else '!='} reference)",
            f"{reference:,} tokens", ours, base)
        estimate = estimate_tokens(block)
        print(f"estimate_tokens / reference count: {estimate:,} / {reference:,} = {estimate / reference:.3f}")
    ours = median_s(lambda: estimate_tokens(block), runs)
    row(f"estimate_tokens, no model ({len(block) / ours / 1e6:.1f} M chars/s)", f"{len(block):,} chars",
        ours, base)


def search(runs: int) -> None:
    document = extract(bench_text())
    header("search mode (baseline: bare FTS5 MATCH on the same index)")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "index.sqlite3"

        def build() -> None:
            path.unlink(missing_ok=True)
            with DocumentIndex(path) as index:
                index.add(document)

        row("index the 5 MB text (chunk + FTS5)", f"{len(document.text) / 1e6:.1f} M chars",
            median_s(build, runs), None)
        query = "granite harbour lantern evidence"
        with DocumentIndex(path) as index:
            chunks = index.search(query, top_n=10)
            bare = sqlite3.connect(path)
            match = " OR ".join(f'"{word}"' for word in query.split())

            def bare_query() -> None:
                bare.execute("SELECT rowid, bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ?"
                             " ORDER BY bm25(chunks_fts) LIMIT 10", (match,)).fetchall()

            ours, base = paired_s(lambda: index.search(query, top_n=10), bare_query, runs * 5)
            row("search, top 10 with snippets and citations", f"{len(chunks)} hits", ours, base, unit="ms")
            opening = median_s(lambda: index.open(chunks[0].result_id), runs * 5)
            row("open 40 lines of a result", "40 lines", opening, None, unit="ms")
            finding = median_s(lambda: index.find("granite meadow"), runs)
            row("find a phrase in the whole document", "", finding, None, unit="ms")
            bare.close()


def document_of_tokens(target: int, engine: WorkerEngine) -> tuple[str, int]:
    """A prompt-block-sized slice of the 5 MB text with about `target` tokens in the loaded vocabulary."""
    lines = bench_text().read_text(encoding="utf-8").split("\n")
    low, high = 1, len(lines)
    while low < high:  # the fewest lines whose text reaches the target
        middle = (low + high) // 2
        if engine.count_tokens(["\n".join(lines[:middle])]).result()[0] < target:
            low = middle + 1
        else:
            high = middle
    text = "\n".join(lines[:low])
    return text, engine.count_tokens([text]).result()[0]


def conversation(document_block: str, follow_up: str) -> list[Message]:
    return [
        Message(SYSTEM, SystemContent(conversation_start_date="2025-08-05")),
        Message(USER, f"{document_block}\n\n{QUESTIONS[0]}"),
        Message(ASSISTANT, "It describes the harbour in its second section.", channel="final"),
        Message(USER, follow_up),
    ]


def first_token(engine: WorkerEngine, messages: list[Message]) -> tuple[float, Done]:
    request = GenerateRequest(tuple(render_conversation(messages)), SamplingSettings(max_tokens=1, seed=1))
    start = time.perf_counter()
    seen: float | None = None
    for event in engine.generate(request):
        if isinstance(event, TokenEvent) and seen is None:
            seen = time.perf_counter() - start
        elif isinstance(event, Done):
            return (seen if seen is not None else time.perf_counter() - start), event
        elif isinstance(event, EngineError):
            raise SystemExit(f"generation failed: {event.message}")
    raise SystemExit("generation ended without Done")


def follow_up_latency(doc_tokens: int, model: Path, vocabulary_name: str) -> None:
    with _closing(WorkerEngine()) as engine, tempfile.TemporaryDirectory() as folder:
        engine.load(LoadPlan(str(model), n_ctx=4096)).result()
        text, tokens = document_of_tokens(doc_tokens, engine)
        path = Path(folder) / "report.txt"
        path.write_text(text, encoding="utf-8")
        block = format_for_prompt(extract(path))
        n_ctx = -(-(tokens + 1024) // 1024) * 1024
        info = engine.load(LoadPlan(str(model), n_ctx=n_ctx)).result()
        header(f"time to first token, follow-up question about a {tokens:,}-token document "
               f"(tiny gpt-oss, {VOCABULARIES[vocabulary_name]}, n_ctx {info.n_ctx:,}; baseline: the same "
               "prompt with no prefix reuse)")
        # Cold: the engine has just loaded, so the whole follow-up prompt is evaluated.
        cold_s, cold = first_token(engine, conversation(block, QUESTIONS[1]))
        # Warm: another follow-up in the same conversation; the prefix up to it comes from the cache.
        warm_s, warm = first_token(engine, conversation(block, "Which page mentions the orchard?"))
        row(f"with prefix reuse ({warm.reused_tokens:,} reused, {warm.evaluated_tokens:,} evaluated)",
            f"{warm.prompt_tokens:,} tokens", warm_s, cold_s)
        row(f"without ({cold.evaluated_tokens:,} evaluated)", f"{cold.prompt_tokens:,} tokens", cold_s, None)


class _closing:
    def __init__(self, engine: WorkerEngine) -> None:
        self.engine = engine

    def __enter__(self) -> WorkerEngine:
        return self.engine

    def __exit__(self, *exc_info: object) -> None:
        self.engine.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (the median is shown)")
    parser.add_argument("--doc-tokens", type=int, default=100_000,
                        help="document size for the time-to-first-token part (0: skip it)")
    parser.add_argument("--vocabulary", choices=sorted(VOCABULARIES), default="real",
                        help="the tiny model's tokenizer: gpt-oss's own (default) or a small byte-level one")
    args = parser.parse_args(argv)
    model = MODELS[args.vocabulary]()
    print(f"documents bench: {os.cpu_count()} CPUs, median of {args.repeat} runs, "
          f"{VOCABULARIES[args.vocabulary]} vocabulary")
    block = extraction(args.repeat)
    with _closing(WorkerEngine()) as engine:
        engine.load(LoadPlan(str(model), n_ctx=4096)).result()
        token_counting(block, args.repeat, engine, model, args.vocabulary)
    search(args.repeat)
    if args.doc_tokens:
        follow_up_latency(args.doc_tokens, model, args.vocabulary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
