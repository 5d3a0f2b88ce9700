"""The deep-link redirect (ui/routing.py): a path below a page goes to the page, query kept; every
route of Streamlit's own passes untouched, as does anything under another base path."""

import asyncio
import concurrent.futures

import pytest

from ui.routing import DeepLinkRedirect, page_of_deep_path


@pytest.mark.parametrize("path, base, expected", [
    ("/Attention/extra", "", "/Attention"),
    ("/Attention/extra/more/", "", "/Attention"),
    ("/Nope/x", "", "/Nope"),  # no such page: Streamlit's own "page not found" on the home page
    ("/lab/Attention/extra", "lab", "/lab/Attention"),
    ("/lab/Attention/extra", "/lab/", "/lab/Attention"),
    ("/a b/c", "", "/a%20b"),
])
def test_a_path_below_a_page_goes_to_the_page(path, base, expected):
    assert page_of_deep_path(path, base) == expected


@pytest.mark.parametrize("path, base", [
    ("/", ""), ("/Attention", ""), ("/Attention/", ""),  # a page itself
    ("/_stcore/health", ""), ("/_stcore/stream", ""), ("/_stcore/upload_file/s/f", ""),
    ("/Attention/_stcore/health", ""), ("/Attention/_stcore/host-config", ""),  # the frontend probes these
    ("/static/js/index.js", ""), ("/Attention/static/js/index.js", ""),
    ("/media/abc.png", ""), ("/component/x/index.html", ""), ("/app/static/x.png", ""),
    ("/auth/login", ""), ("/oauth2callback/x", ""),
    ("/lab/Attention", "lab"), ("/other/Attention/x", "lab"), ("/lab/_stcore/health", "lab"),
])
def test_streamlit_routes_and_pages_pass(path, base):
    assert page_of_deep_path(path, base) is None


def _call(scope):
    sent, called = [], []

    async def inner(scope, receive, send):
        called.append(scope["type"])

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    # in a thread of its own: an earlier test may leave an event loop running in this one
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, DeepLinkRedirect(inner, base="")(scope, receive, send)).result(timeout=30)
    return sent, called


def test_the_middleware_answers_307_with_the_query_and_passes_the_rest():
    sent, called = _call({"type": "http", "method": "GET", "path": "/Attention/extra", "query_string": b"d_k=16&seed=3"})
    assert not called
    assert sent[0]["status"] == 307
    assert dict(sent[0]["headers"])[b"location"] == b"/Attention?d_k=16&seed=3"
    sent, called = _call({"type": "http", "method": "GET", "path": "/Attention/extra", "query_string": b""})
    assert dict(sent[0]["headers"])[b"location"] == b"/Attention"
    for scope in ({"type": "http", "method": "GET", "path": "/Attention", "query_string": b""},
                  {"type": "http", "method": "POST", "path": "/Attention/extra", "query_string": b""},
                  {"type": "websocket", "path": "/Attention/_stcore/stream"},
                  {"type": "lifespan"}):
        sent, called = _call(scope)
        assert called and not sent, scope
