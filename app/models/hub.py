"""The Hugging Face Hub through huggingface_hub: file lists with hashes, search, file locations, ranged GETs.

This is the only module of Ossian that imports huggingface_hub. It uses the library's own pieces for
everything that speaks to the Hub (endpoint, token headers, the shared HTTP session with its retries,
`get_hf_file_metadata` for the resolve step with its ETag and commit headers, `ModelInfo` to read a
repository's answer, and its error classes), and does two things itself: the ranged GET of a file's
bytes, because the download must be paused, resumed from any byte, hashed while it arrives and
reported as it goes, which `hf_hub_download` does not offer; and the repository request that
`HfApi.model_info` would send, so that an answer which is not JSON can be described.

Errors of the library and of its HTTP transport leave this module as `ModelsError`s with a message for
the user (a gated repository gets the token hint). A file's bytes usually come from another host the
Hub redirects to (its CDN); when that host fails, the message names that host, not the Hub. An answer
that is not the Hub's JSON (a captive portal's login page, a proxy's notice) is named with what came
instead, never left to surface as a decoding error.

Nothing here runs unless the user started a download or a search: creating a `HubClient` sends
nothing, and callers ask the network policy first.
"""

from __future__ import annotations

import importlib
import logging
import re
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from huggingface_hub import constants, get_hf_file_metadata, hf_hub_url
from huggingface_hub.errors import (
    DisabledRepoError,
    FileMetadataError,
    GatedRepoError,
    HfHubHTTPError,
    HFValidationError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import ModelInfo
from huggingface_hub.utils import (
    build_hf_headers,
    get_session,
    hf_raise_for_status,
    http_backoff,
    http_stream_backoff,
    validate_repo_id,
)

from app import __version__
from app.models.download_plan import PlannedFile
from app.models.errors import (
    HubAccessDenied,
    HubNotFound,
    HubUnreachable,
    ModelsError,
    NetworkDisabled,
    UnknownModel,
)
from app.text_safety import shown_name

# huggingface_hub 2.x builds its user agent with an "agent harness" lookup that fetches a registry from
# its *default* endpoint (huggingface.co, even when a mirror is in use) on the first request, and caches
# it under ~/.cache/huggingface. That is a request the user did not ask for: switch it off.
constants.HF_HUB_DISABLE_TELEMETRY = True

# The HTTP library under huggingface_hub (httpx in 1.x, httpx2 in 2.x): only for its exception classes.
_TRANSPORT = importlib.import_module(type(get_session()).__module__.partition(".")[0])
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (_TRANSPORT.RequestError,)
# It logs every request's full address at INFO; CDN addresses carry short-lived signatures that are
# credentials in their own right, so they stay out of Ossian's log file.
logging.getLogger(_TRANSPORT.__name__).setLevel(logging.WARNING)

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
DEFAULT_TIMEOUT = 20.0
# What of a reply that is not the Hub's JSON is quoted back, so a portal or proxy page can be recognised.
SAMPLE_CHARS = 80
_TAG_RE = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->|<[^>]*>", re.IGNORECASE | re.DOTALL)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_T = TypeVar("_T")


@dataclass(frozen=True)
class RemoteFile:
    """A file in a repository as the Hub lists it: LFS files carry the SHA-256 of their content."""

    path: str
    size: int
    sha256: str | None
    blob_id: str | None  # git blob id: the check for files kept in git itself


@dataclass(frozen=True)
class RepoListing:
    repo: str
    revision: str
    commit: str
    gated: bool
    private: bool
    architecture: str | None  # the Hub's reading of the GGUF header, when it offers one
    files: tuple[RemoteFile, ...]


@dataclass(frozen=True)
class HubSearchResult:
    repo: str
    downloads: int
    likes: int
    gated: bool
    tags: tuple[str, ...]

    @property
    def looks_gpt_oss(self) -> bool:
        words = (self.repo.lower(), *(tag.lower() for tag in self.tags))
        return any("gpt-oss" in word or "gpt_oss" in word for word in words)


@dataclass(frozen=True)
class FileLocation:
    """Where to GET a file's bytes, with the headers to send (the token only to the Hub itself)."""

    url: str
    headers: dict[str, str]
    size: int | None
    etag: str | None

    def changed_from(self, remote: RemoteFile | PlannedFile) -> bool:
        """True when the Hub now serves other bytes than the listing promised (resuming would mix them)."""
        if self.size is not None and self.size != remote.size:
            return True
        etag_is_hash = bool(self.etag and _SHA256_RE.match(self.etag))
        return bool(remote.sha256 and etag_is_hash and self.etag != remote.sha256)


@dataclass
class RangeStream:
    """An open GET: `start` is the byte the body begins at (0 when the server ignored the Range)."""

    start: int
    chunks: Iterator[bytes]


class HubClient:
    """Requests to one Hub endpoint with one token (or none). Thread-safe: it keeps no request state."""

    def __init__(self, endpoint: str, token: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout
        self._token: str | bool = token or False  # False: never fall back to a token found on the machine

    @property
    def has_token(self) -> bool:
        return bool(self._token)

    def list_repo(self, repo: str, revision: str = "main") -> RepoListing:
        """The repository's files with sizes and hashes, pinned to the commit the revision names now."""
        # The request HfApi.model_info(files_metadata=True) sends, made here so that a reply which is not
        # the Hub's JSON can be described by its status and content type (the library only raises a bare
        # decoding error).
        url = f"{self.endpoint}/api/models/{repo}/revision/{quote(revision, safe='')}"
        with self._mapped(repo):
            validate_repo_id(repo)
            response = get_session().get(url, headers=self._headers(), params={"blobs": True},
                                         timeout=self.timeout)
            hf_raise_for_status(response)
            info = self._hub_json(response, lambda data: ModelInfo(**data))
        files = tuple(
            RemoteFile(path=s.rfilename, size=int(s.lfs.size if s.lfs else s.size or 0),
                       sha256=(s.lfs.sha256.lower() if s.lfs else None), blob_id=s.blob_id)
            for s in info.siblings or ()
        )
        gguf = info.gguf if isinstance(info.gguf, dict) else {}
        return RepoListing(repo=info.id or repo, revision=revision, commit=info.sha or revision,
                           gated=bool(info.gated), private=bool(info.private),
                           architecture=gguf.get("architecture"), files=files)

    def search(self, query: str, limit: int = 20) -> list[HubSearchResult]:
        """GGUF repositories matching `query`, most downloaded first (one page: `limit` results)."""
        # HfApi.list_models retries a failed connection five times with growing waits (23 s in all)
        # before giving up; someone typing a search wants to hear at once that the Hub is unreachable.
        params = {"search": query, "filter": "gguf", "sort": "downloads", "limit": limit}
        with self._mapped(None):
            response = http_backoff("GET", f"{self.endpoint}/api/models", params=params,
                                    headers=self._headers(), timeout=self.timeout, max_retries=1,
                                    base_wait_time=0.5)
            hf_raise_for_status(response)
            found = self._hub_json(response, lambda data: [ModelInfo(**item) for item in data[:limit]])
        return [HubSearchResult(repo=m.id, downloads=int(m.downloads or 0), likes=int(m.likes or 0),
                                gated=bool(m.gated), tags=tuple(m.tags or ())) for m in found]

    def locate(self, repo: str, path: str, commit: str) -> FileLocation:
        """Resolve a file (HEAD on /resolve): its ETag, size and the URL its bytes come from."""
        url = hf_hub_url(repo, path, revision=commit, endpoint=self.endpoint)
        with self._mapped(repo, path):
            # No retries here: the download loop retries with its own waits, and stops when paused.
            meta = get_hf_file_metadata(url, token=self._token, timeout=self.timeout, endpoint=self.endpoint)
        headers = {"Accept-Encoding": "identity"}
        if self._token and _origin(meta.location) == _origin(url):
            # Signed CDN addresses need no token, and the token must never leave the Hub.
            headers["authorization"] = f"Bearer {self._token}"
        return FileLocation(url=meta.location, headers=headers, size=meta.size, etag=meta.etag)

    @contextmanager
    def open_range(self, location: FileLocation, start: int, repo: str, path: str) -> Iterator[RangeStream]:
        """GET the file from byte `start`. Errors while reading the body are mapped too."""
        headers = dict(location.headers)
        if start > 0:
            headers["Range"] = f"bytes={start}-"
        with self._mapped(repo, path, location.url), http_stream_backoff(
            "GET", location.url, headers=headers, timeout=self.timeout, max_retries=2,
            retry_on_exceptions=(), retry_on_status_codes=(429, 500, 502, 503, 504),
        ) as response:
            hf_raise_for_status(response)
            body_start = start if response.status_code == 206 else 0
            if response.status_code == 206:
                body_start = _content_range_start(response.headers.get("Content-Range"), start)
            yield RangeStream(body_start, response.iter_bytes())

    def _headers(self) -> dict[str, str]:
        return build_hf_headers(token=self._token, library_name="ossian", library_version=__version__)

    def _hub_json(self, response: Any, read: Callable[[Any], _T]) -> _T:
        """`read(decoded JSON)`; a reply that is not JSON, or not JSON of the Hub's shape, is named."""
        try:
            data = response.json()
        except ValueError:  # JSONDecodeError and UnicodeDecodeError both are ValueErrors
            raise HubUnreachable(_not_hub_json(response, "something that is not the Hub's JSON")) from None
        try:
            return read(data)
        except (KeyError, TypeError, AttributeError, ValueError):
            raise HubUnreachable(_not_hub_json(response, "JSON that is not the Hub's")) from None

    @contextmanager
    def _mapped(self, repo: str | None, path: str | None = None, url: str | None = None) -> Iterator[None]:
        """Turn huggingface_hub's and the transport's exceptions into ours (the most specific that fits).

        `url` is the address actually asked; when the Hub redirected to another host (its CDN), that
        host's failures are named as that host's, not the Hub's.
        """
        if url is not None and _origin(url) != _origin(self.endpoint):
            try:
                yield
            except ModelsError:
                raise
            except HfHubHTTPError as exc:  # every subclass too: a CDN's 401 is no missing repository
                raise _redirected_http_error(_host(url), path or "the file", exc) from None
            except TRANSPORT_ERRORS as exc:
                raise HubUnreachable(_redirected_transport_error(_host(url), path or "the file", exc,
                                                                 self.timeout)) from None
            return
        where = f"{self.endpoint}/{repo}" if repo else self.endpoint
        try:
            yield
        except ModelsError:
            raise
        except OfflineModeIsEnabled:
            raise NetworkDisabled("HF_HUB_OFFLINE is set in the environment, which switches the Hub off. "
                                  "Unset it to download models or search the Hub.") from None
        except GatedRepoError as exc:
            raise self._gated(repo or "", exc) from None
        except RepositoryNotFoundError:
            hint = ("" if self.has_token else " If it is a private repository, give Ossian a Hugging Face "
                    "token (Settings, or `ossian models login`).")
            raise HubNotFound(f"The repository {repo} was not found on {self.endpoint}. Check its name "
                              f"(owner/name).{hint}") from None
        except RevisionNotFoundError:
            raise HubNotFound(f"{where} has no such revision (branch, tag or commit). Check it, or use "
                              "'main'.") from None
        except RemoteEntryNotFoundError:
            raise HubNotFound(f"{where} has no file {path}. The publisher may have renamed or removed it; "
                              "look at the repository's file list.") from None
        except DisabledRepoError:
            raise HubAccessDenied(f"The Hub has disabled the repository {repo}; it cannot be downloaded.",
                                  repo or "", gated=False) from None
        except HFValidationError:
            raise UnknownModel(f"'{repo}' is not a Hub repository id: it should look like owner/name, "
                               "e.g. ggml-org/gpt-oss-20b-GGUF.") from None
        except FileMetadataError as exc:
            raise HubUnreachable(f"The server at {self.endpoint} does not answer like the Hugging Face Hub "
                                 f"({exc}). Check the Hub address (HF_ENDPOINT or Settings).") from None
        except HfHubHTTPError as exc:
            raise self._http_error(repo, exc) from None
        except TRANSPORT_ERRORS as exc:
            raise HubUnreachable(f"Could not reach {self.endpoint}: {exc or type(exc).__name__}. Check the "
                                 "connection (and any proxy), then try again; downloads resume where they "
                                 "stopped.") from None

    def _gated(self, repo: str, exc: GatedRepoError) -> HubAccessDenied:
        page = f"{self.endpoint}/{repo}"
        status = exc.response.status_code if exc.response is not None else 0
        if not self.has_token:
            message = (f"{repo} is a gated repository: the Hub lets you download it only with a Hugging Face "
                       f"token. Accept its terms at {page} while logged in, create a read token at "
                       f"{constants.HUGGINGFACE_CO_URL_HOME}settings/tokens, then give it to Ossian "
                       "(Settings, or `ossian models login`).")
        elif status == 401:
            message = (f"{repo} is a gated repository and the Hub did not accept your Hugging Face token (it "
                       "may have been revoked or mistyped). Set a new one (Settings, or `ossian models "
                       f"login`), and make sure you accepted the terms at {page}.")
        else:
            message = (f"Your Hugging Face token does not give access to {repo} yet. Accept the repository's "
                       f"terms at {page} (approval can take a while), or check that the token can read "
                       "gated repositories.")
        return HubAccessDenied(message, repo, gated=True)

    def _http_error(self, repo: str | None, exc: HfHubHTTPError) -> ModelsError:
        status = exc.response.status_code if exc.response is not None else 0
        if status == 401:
            if self.has_token:
                return HubAccessDenied("The Hub rejected the Hugging Face token (it may have been revoked "
                                       "or mistyped). Set a new one in Settings or with "
                                       "`ossian models login`.", repo or "", gated=False)
            return HubAccessDenied(f"The Hub wants a Hugging Face token for {repo or 'this request'}. "
                                   "Give Ossian one (Settings, or `ossian models login`).", repo or "",
                                   gated=False)
        if status == 403:
            return HubAccessDenied(f"The Hub refused access to {repo or 'this request'} (403). Check that "
                                   "your token may read it.", repo or "", gated=False)
        if status == 404:
            return HubNotFound(f"{self.endpoint} answered 'not found' for {repo or 'this request'}. Check "
                               "the repository name and the Hub address (HF_ENDPOINT or Settings).")
        if status == 429:
            return HubUnreachable("The Hub asks to slow down (too many requests). Wait a few minutes and "
                                  "try again.")
        if status == 416:
            return HubUnreachable("The server refused to continue the file where it stopped. Cancel the "
                                  "download and start it again.")
        return HubUnreachable(f"The Hub answered with an error ({status or 'no status'}). Try again later; "
                              "downloads resume where they stopped.")


def _host(url: str) -> str:
    """The host a person would recognise: 'cas-bridge.xethub.hf.co', '127.0.0.1:8080' (a port if given)."""
    parts = urlsplit(url)
    host = parts.hostname or url
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port else host


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and what it was raised from (the transport wraps the socket's error twice)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _redirected_transport_error(host: str, path: str, exc: BaseException, timeout: float) -> str:
    where = f"while downloading {path} (the Hub redirected there)"
    later = "Try again later; the download resumes where it stopped."
    causes = list(_causes(exc))
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return (f"{host} refused the connection {where}. A firewall or proxy may block it, or it is down "
                f"for a moment. {later}")
    if any(isinstance(c, ssl.SSLError | ssl.CertificateError) for c in causes):
        return (f"The secure (TLS) connection to {host} failed {where}: {exc}. A proxy or antivirus that "
                f"inspects HTTPS traffic, or a wrong system clock, can cause this: let {host} through, or "
                f"check the clock. {later}")
    if any(isinstance(c, socket.gaierror) for c in causes):
        return (f"{host} could not be found (DNS) {where}. Check the connection, and that DNS or a "
                f"filter does not block {host}. {later}")
    if isinstance(exc, _TRANSPORT.TimeoutException):
        return f"{host} did not answer within {timeout:.0f} s {where}. {later}"
    return f"Could not reach {host} {where}: {exc or type(exc).__name__}. {later}"


def _redirected_http_error(host: str, path: str, exc: HfHubHTTPError) -> ModelsError:
    """A CDN's error status: HubUnreachable, so the download retries with a fresh address from the Hub."""
    status = exc.response.status_code if exc.response is not None else 0
    later = "Try again later; the download asks the Hub for a fresh address and resumes where it stopped."
    if status in (401, 403):
        return HubUnreachable(f"{host} refused access to {path} (HTTP {status}); the Hub redirected there to "
                              f"download it. Its signed address may have expired, or a firewall or proxy "
                              f"blocks {host}. {later}")
    if status == 416:
        return HubUnreachable(f"{host} refused to continue {path} where it stopped (the Hub redirected "
                              "there). Cancel the download and start it again.")
    return HubUnreachable(f"{host} answered with an error (HTTP {status or 'no status'}) while downloading "
                          f"{path} (the Hub redirected there). {later}")


def _not_hub_json(response: Any, what: str) -> str:
    """'host answered with … (HTTP 200, text/html: 'first words…') — a proxy or captive portal …'."""
    content_type = (response.headers.get("Content-Type") or "no content type").split(";")[0].strip()
    return (f"{_host(str(response.url))} answered with {what} (HTTP {response.status_code}, "
            f"{content_type}: {_sample(response.content)}) — a proxy or captive portal may be in the way. "
            "Open the Hub in a browser to see that page (and log in to the network if it asks), or check "
            "the Hub address (HF_ENDPOINT or Settings).")


def _sample(body: bytes) -> str:
    """The first words of a reply, as a person would read them; binary data is only called so."""
    if not body.strip():
        return "an empty body"
    try:
        text = body[:4096].decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < 4092:  # not only a character cut at the end of the sample
            return "binary data"
        text = body[:exc.start].decode("utf-8")
    if _CONTROL_RE.search(text):
        return "binary data"
    words = " ".join(_TAG_RE.sub(" ", text).split())
    words = words if len(words) <= SAMPLE_CHARS else words[:SAMPLE_CHARS - 1].rstrip() + "…"
    return repr(shown_name(words)) if words else "an HTML page without text"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default_port


def _content_range_start(header: str | None, asked: int) -> int:
    """The first byte of a 206 body ('bytes 100-199/200'); the asked start if the header is unusable."""
    match = re.match(r"\s*bytes\s+(\d+)-\d+/(?:\d+|\*)", header or "")
    return int(match.group(1)) if match else asked
