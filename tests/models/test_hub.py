"""The Hub client: real huggingface_hub calls against the local Hub, and its errors mapped to ours."""

from __future__ import annotations

import hashlib
import socket

import pytest

from app.models import (
    HubAccess,
    HubAccessDenied,
    HubNotFound,
    HubUnreachable,
    ModelsError,
    TokenStore,
    UnknownModel,
)
from app.models.hub import HubClient
from app.settings import Settings
from fixtures.hub_server import HubServer, git_blob_id
from fixtures.tiny_models import tiny_gpt_oss_model
from tests.models.conftest import FILE_20B, FILES_120B, GOOD_TOKEN, OTHER_TOKEN, REPO_20B, REPO_120B


def test_the_file_list_carries_sizes_hashes_and_the_commit(published: HubServer) -> None:
    listing = HubClient(published.endpoint).list_repo(REPO_20B)

    data = tiny_gpt_oss_model().read_bytes()
    files = {f.path: f for f in listing.files}
    assert files[FILE_20B].size == len(data)
    assert files[FILE_20B].sha256 == hashlib.sha256(data).hexdigest()
    assert files["README.md"].sha256 is None and files["README.md"].blob_id == git_blob_id(b"# gpt-oss-20b\n")
    assert listing.commit == published.repos[REPO_20B].commit and listing.architecture == "gpt-oss"
    assert [r.path for r in published.requests] == [f"/api/models/{REPO_20B}/revision/main"]


def test_locate_follows_the_resolve_redirect_and_keeps_the_token_on_the_hub(published: HubServer) -> None:
    client = HubClient(published.endpoint, token=GOOD_TOKEN)
    commit = published.repos[REPO_120B].commit

    location = client.locate(REPO_120B, FILES_120B[1], commit)

    assert location.url.startswith(published.cdn_endpoint + "/cdn/")
    assert "authorization" not in {k.lower() for k in location.headers}
    assert location.size == published.repos[REPO_120B].files[FILES_120B[1]].listed_size
    assert location.etag == published.repos[REPO_120B].files[FILES_120B[1]].sha256
    [head] = published.requests
    assert head.method == "HEAD" and f"/resolve/{commit}/" in head.path and head.authorization is not None


def test_ranged_reads_start_where_asked(published: HubServer) -> None:
    client = HubClient(published.endpoint)
    commit = published.repos[REPO_20B].commit
    location = client.locate(REPO_20B, FILE_20B, commit)

    with client.open_range(location, 1000, REPO_20B, FILE_20B) as stream:
        body = b"".join(stream.chunks)

    assert stream.start == 1000 and body == tiny_gpt_oss_model().read_bytes()[1000:]
    assert published.requests[-1].range == "bytes=1000-"


def test_search_finds_gguf_repositories_most_downloaded_first(published: HubServer) -> None:
    published.add_repo("someone/not-a-gguf", {"model.bin": b"x"}, tags=("pytorch",), downloads=10_000)

    access = HubAccess(settings=lambda: Settings(), tokens=TokenStore())
    results = access.search("gpt-oss")

    assert [r.repo for r in results] == [REPO_20B, REPO_120B]
    assert all(r.looks_gpt_oss for r in results)
    assert HubAccess(settings=lambda: Settings()).search("someone") == []


def test_a_gated_file_without_a_token_gives_the_token_hint(hub: HubServer) -> None:
    hub.add_repo("acme/gated", {"m.gguf": b"x" * 10}, gated=True, allowed_tokens=[GOOD_TOKEN])
    client = HubClient(hub.endpoint)
    listing = client.list_repo("acme/gated")  # the file list of a gated repository is public, as on the Hub
    assert listing.gated

    with pytest.raises(HubAccessDenied) as caught:
        client.locate("acme/gated", "m.gguf", listing.commit)

    assert caught.value.gated and caught.value.repo == "acme/gated"
    message = str(caught.value)
    assert "gated repository" in message and "token" in message and "ossian models login" in message
    assert f"{hub.endpoint}/acme/gated" in message


def test_a_token_without_access_to_a_gated_repository_is_told_to_accept_the_terms(hub: HubServer) -> None:
    hub.add_repo("acme/gated", {"m.gguf": b"x" * 10}, gated=True, allowed_tokens=[GOOD_TOKEN])
    commit = hub.repos["acme/gated"].commit
    with pytest.raises(HubAccessDenied, match="does not give access to acme/gated"):
        HubClient(hub.endpoint, token=OTHER_TOKEN).locate("acme/gated", "m.gguf", commit)
    assert HubClient(hub.endpoint, token=GOOD_TOKEN).locate("acme/gated", "m.gguf", commit).size == 10


def test_a_revoked_token_is_named_as_the_problem(published: HubServer) -> None:
    with pytest.raises(HubAccessDenied, match="rejected the Hugging Face token"):
        HubClient(published.endpoint, token="hf_revokedtoken000").list_repo(REPO_20B)


def test_a_private_or_missing_repository_is_not_found_with_a_token_hint(hub: HubServer) -> None:
    hub.add_repo("acme/private", {"m.gguf": b"x"}, private=True, allowed_tokens=[GOOD_TOKEN])
    with pytest.raises(HubNotFound, match="private repository, give Ossian a Hugging Face token"):
        HubClient(hub.endpoint).list_repo("acme/private")
    with pytest.raises(HubNotFound, match="acme/missing was not found"):
        HubClient(hub.endpoint).list_repo("acme/missing")
    assert HubClient(hub.endpoint, token=GOOD_TOKEN).list_repo("acme/private").private


def test_a_missing_revision_or_file_is_named(published: HubServer) -> None:
    client = HubClient(published.endpoint)
    with pytest.raises(HubNotFound, match="no such revision"):
        client.list_repo(REPO_20B, revision="v9")
    with pytest.raises(HubNotFound, match=r"has no file nothing\.gguf"):
        client.locate(REPO_20B, "nothing.gguf", "main")


def test_a_malformed_repository_id_is_refused_before_any_request(published: HubServer) -> None:
    with pytest.raises(UnknownModel, match="owner/name"):
        HubClient(published.endpoint).list_repo("not//valid")
    assert published.requests == []


def test_an_unreachable_hub_says_so(unused_port: int) -> None:
    with pytest.raises(HubUnreachable, match=f"Could not reach http://127.0.0.1:{unused_port}") as caught:
        HubClient(f"http://127.0.0.1:{unused_port}", timeout=2).list_repo(REPO_20B)
    assert isinstance(caught.value, ModelsError)


def test_something_that_is_not_a_hub_is_called_out(published: HubServer) -> None:
    # The CDN stand-in is an HTTP server without the Hub's headers, like a misconfigured HF_ENDPOINT.
    with pytest.raises(HubNotFound, match="Check the repository name and the Hub address"):
        HubClient(published.cdn_endpoint).locate(REPO_20B, FILE_20B, "main")


@pytest.fixture
def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- hostile networks (issue "Hostile input", item 10): name the host that failed, never our internals --


def fetch_first_bytes(hub: HubServer) -> None:
    client = HubClient(hub.endpoint, timeout=5)
    location = client.locate(REPO_20B, FILE_20B, "main")
    with client.open_range(location, 0, REPO_20B, FILE_20B) as stream:
        next(iter(stream.chunks))


def test_a_redirect_target_that_refuses_the_connection_is_named(published: HubServer,
                                                                 unused_port: int) -> None:
    published.redirect_files_to(f"http://127.0.0.1:{unused_port}")
    with pytest.raises(HubUnreachable) as caught:
        fetch_first_bytes(published)
    message = str(caught.value)
    assert f"127.0.0.1:{unused_port} refused the connection while downloading {FILE_20B}" in message
    assert "the Hub redirected there" in message
    assert published.endpoint not in message


def test_a_redirect_target_whose_tls_fails_is_named(published: HubServer) -> None:
    cdn = published.cdn_endpoint.removeprefix("http://")
    published.redirect_files_to(f"https://{cdn}")  # a plain-HTTP server: the TLS handshake fails
    with pytest.raises(HubUnreachable) as caught:
        fetch_first_bytes(published)
    message = str(caught.value)
    assert f"The secure (TLS) connection to {cdn} failed while downloading {FILE_20B}" in message
    assert "the Hub redirected there" in message and published.endpoint not in message


def test_a_redirect_target_that_answers_403_is_named_not_the_token(published: HubServer) -> None:
    published.cdn_refuses(403)
    with pytest.raises(HubUnreachable) as caught:
        fetch_first_bytes(published)
    message = str(caught.value)
    cdn = published.cdn_endpoint.removeprefix("http://")
    assert f"{cdn} refused access to {FILE_20B} (HTTP 403)" in message
    assert "the Hub redirected there" in message and "token" not in message


CAPTIVE_PORTAL = (b"<!DOCTYPE html><html><head><title>Hotel Lobby WiFi</title></head><body>"
                  b"<h1>Welcome! Please accept the terms to continue</h1></body></html>")


@pytest.mark.parametrize(("body", "content_type", "shown"), [
    (CAPTIVE_PORTAL, "text/html; charset=utf-8", "text/html: 'Hotel Lobby WiFi Welcome! Please accept"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00\x10" * 8, "image/png", "image/png: binary data"),
    (b"", "text/plain", "text/plain: an empty body"),
])
def test_an_api_reply_that_is_not_json_names_the_host_and_what_came(published: HubServer, body: bytes,
                                                                    content_type: str, shown: str) -> None:
    published.api_replies(body, content_type)
    host = published.endpoint.removeprefix("http://")
    for call in (lambda c: c.list_repo(REPO_20B), lambda c: c.search("gpt-oss")):
        with pytest.raises(HubUnreachable) as caught:
            call(HubClient(published.endpoint, timeout=5))
        message = str(caught.value)
        assert message.startswith(f"{host} answered with something that is not the Hub's JSON (HTTP 200, "
                                  f"{shown}")
        assert "a proxy or captive portal may be in the way" in message
