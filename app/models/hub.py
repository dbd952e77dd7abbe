"""The Hugging Face Hub through huggingface_hub: file lists with hashes, search, file locations, ranged GETs.

This is the only module of Ossian that imports huggingface_hub. It uses the library's own pieces for
everything that speaks to the Hub (endpoint, token headers, the shared HTTP session with its retries,
`get_hf_file_metadata` for the resolve step with its ETag and commit headers, and its error classes),
and does one thing itself: the ranged GET of a file's bytes, because the download must be paused,
resumed from any byte, hashed while it arrives and reported as it goes, which `hf_hub_download` does
not offer. Errors of the library and of its HTTP transport leave this module as `ModelsError`s with
a message for the user (a gated repository gets the token hint).

Nothing here runs unless the user started a download or a search: creating a `HubClient` sends
nothing, and callers ask the network policy first.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from huggingface_hub import HfApi, constants, get_hf_file_metadata, hf_hub_url
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
        self._api = HfApi(endpoint=self.endpoint, token=self._token, library_name="ossian",
                          library_version=__version__)

    @property
    def has_token(self) -> bool:
        return bool(self._token)

    def list_repo(self, repo: str, revision: str = "main") -> RepoListing:
        """The repository's files with sizes and hashes, pinned to the commit the revision names now."""
        with self._mapped(repo):
            info = self._api.model_info(repo, revision=revision, files_metadata=True, timeout=self.timeout)
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
        headers = build_hf_headers(token=self._token, library_name="ossian", library_version=__version__)
        with self._mapped(None):
            response = http_backoff("GET", f"{self.endpoint}/api/models", params=params, headers=headers,
                                    timeout=self.timeout, max_retries=1, base_wait_time=0.5)
            hf_raise_for_status(response)
            found = [ModelInfo(**item) for item in response.json()[:limit]]
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
        with self._mapped(repo, path), http_stream_backoff(
            "GET", location.url, headers=headers, timeout=self.timeout, max_retries=2,
            retry_on_exceptions=(), retry_on_status_codes=(429, 500, 502, 503, 504),
        ) as response:
            hf_raise_for_status(response)
            body_start = start if response.status_code == 206 else 0
            if response.status_code == 206:
                body_start = _content_range_start(response.headers.get("Content-Range"), start)
            yield RangeStream(body_start, response.iter_bytes())

    @contextmanager
    def _mapped(self, repo: str | None, path: str | None = None) -> Iterator[None]:
        """Turn huggingface_hub's and the transport's exceptions into ours (the most specific that fits)."""
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


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default_port


def _content_range_start(header: str | None, asked: int) -> int:
    """The first byte of a 206 body ('bytes 100-199/200'); the asked start if the header is unusable."""
    match = re.match(r"\s*bytes\s+(\d+)-\d+/(?:\d+|\*)", header or "")
    return int(match.group(1)) if match else asked
