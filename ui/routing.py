"""Links with a path below a page (``/Attention/extra``): sent to the page (``/Attention``), query kept.

Streamlit answers any unknown path with its app shell, whose scripts and styles are named relative
to the page (``./static/…``). Below a page they resolve to ``/Attention/static/…``, which is the app
shell again, so the browser got a blank page and no message (streamlit/streamlit#8013). A link
mistyped by one segment, or cut by a chat program at a slash, must still open the lab.

``DeepLinkRedirect`` is ASGI middleware for ``st.App`` (see ``streamlit_app.py``): a GET or HEAD
for ``/<page>/<anything>`` that is none of Streamlit's own routes gets a 307 to ``/<page>`` with the
same query string, under the server's ``baseUrlPath`` when one is set. A name that is no page then
gets Streamlit's own "page not found" notice on the home page. Everything else passes untouched.
"""

from __future__ import annotations

from urllib.parse import quote

# Streamlit's own first path segments (its Starlette routes): the core API and the websocket
# (also probed below a page, ``/Attention/_stcore/health``), the frontend's files, media, components,
# the app's static folder and the login routes. A path with one of them in its first two segments is
# Streamlit's to answer.
RESERVED = frozenset({"_stcore", "static", "media", "component", "app", "auth", "oauth2callback"})


def page_of_deep_path(path: str, base: str = "") -> str | None:
    """The page path a deep link should go to (``/Attention``), or None when ``path`` is to pass.

    ``base`` is the server's ``baseUrlPath`` (``"lab"`` or ``"/lab/"``; empty for none)."""
    base_parts = [p for p in base.split("/") if p]
    parts = [p for p in path.split("/") if p]
    if parts[: len(base_parts)] != base_parts:
        return None
    rest = parts[len(base_parts):]
    if len(rest) < 2 or RESERVED.intersection(rest[:2]):
        return None
    return "/" + "/".join(quote(p, safe="") for p in base_parts + rest[:1])


class DeepLinkRedirect:
    """ASGI middleware: ``/<page>/<more>`` → 307 to ``/<page>?<same query>`` (see the module)."""

    def __init__(self, app, base: str | None = None) -> None:
        self.app = app
        self._base = base

    def _base_path(self) -> str:
        if self._base is None:  # read when serving: the config is loaded by then
            from streamlit import config
            self._base = config.get_option("server.baseUrlPath") or ""
        return self._base

    async def __call__(self, scope, receive, send) -> None:
        if scope.get("type") == "http" and scope.get("method") in ("GET", "HEAD"):
            target = page_of_deep_path(scope.get("path", ""), self._base_path())
            if target is not None:
                query = scope.get("query_string", b"")
                location = target + ("?" + query.decode("latin-1") if query else "")
                await send({"type": "http.response.start", "status": 307,
                            "headers": [(b"location", location.encode("latin-1")),
                                        (b"content-length", b"0"), (b"cache-control", b"no-store")]})
                await send({"type": "http.response.body", "body": b""})
                return
        await self.app(scope, receive, send)
