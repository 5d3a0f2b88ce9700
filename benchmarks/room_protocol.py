"""A Streamlit client that speaks the browser's own protocol, for the room benchmark (no browser).

What the browser does, read from Streamlit 1.67's server (``web/server/starlette/starlette_websocket.py``,
``runtime/app_session.py``, ``runtime/pages_manager.py``) and its frontend bundle:

1. ``GET /<url_path>?<query>`` (index.html; behind HAProxy this is the answer that carries the
   ``SRV`` sticky cookie) and ``GET /_stcore/health`` (sets the ``_streamlit_xsrf`` cookie).
2. A websocket to ``/_stcore/stream`` with ``Sec-WebSocket-Protocol: streamlit, <xsrf token or
   PLACEHOLDER_AUTH_TOKEN>[, <last session id>]`` and the cookies. The server selects ``streamlit``;
   the second entry only matters for authentication cookies, the third for reconnecting. The
   ``Origin`` must match the ``Host`` (or be absent); this client sends the page's origin like a browser.
3. Nothing runs until the client sends a ``BackMsg.rerun_script`` (a ``ClientState``). The first one
   names the page the way the address bar does: ``page_name`` = the URL path (``"Recommendations"``),
   ``page_script_hash`` empty, ``query_string`` without ``?``. The server answers ``new_session``,
   ``navigation`` (every page with its hash and ``url_pathname``, and the hash of the page that ran;
   ``page_not_found`` first if the name matched nothing), deltas, ``script_finished``. Later reruns
   name the page by ``page_script_hash``, with ``page_name`` empty.
4. Widgets arrive as ``delta.new_element.<type>`` with an ``id``; a widget inside ``@st.fragment``
   carries the fragment's ``delta.fragment_id``. The browser keeps the value of every widget drawn
   in the last run and sends them all (``widget_states``) with every rerun, plus ``fragment_id``
   when the changed widget lives in a fragment (the server then reruns only that fragment and
   finishes with ``FINISHED_FRAGMENT_RUN_SUCCESSFULLY``).

Like the browser, the client keeps a ForwardMsg cache: messages the server marks ``metadata.cacheable``
(new elements of at least ``global.minCachedMessageSize``) are kept by ``hash``, their hashes go with
every rerun (``ClientState.cached_message_hashes``), the server then sends an unchanged element as a
small ``ref_hash`` message, and entries unused for ``new_session.config.max_cached_message_age`` runs
are dropped (a fragment run only ages its own fragment's entries).

When the app changes ``st.query_params`` the server sends ``page_info_changed`` with the new query
string; the browser puts it in the address bar and sends it with every later rerun (the server
repopulates ``st.query_params`` from the client's query string on each run), and so does this client.

Widget values go in the ``WidgetState`` field the server registers for the widget: sliders
``double_array_value``; select_slider, multiselect, pills/segmented control ``string_array_value`` of
the formatted options; selectbox and radio ``string_value`` (the formatted option); checkbox/toggle
``bool_value``; number_input ``int_value``/``double_value``; text input ``string_value``.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from dataclasses import dataclass, field
from urllib.parse import quote

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.Slider_pb2 import Slider
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect

FINISHED = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR,
            ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}
# Widget types the client knows how to hold (and, except text, to move).
KNOWN_WIDGETS = ("slider", "number_input", "selectbox", "radio", "checkbox", "button_group", "multiselect",
                 "text_input", "text_area")
MOVABLE = {"slider", "number_input", "selectbox", "radio", "checkbox", "button_group", "multiselect"}
ALERT_ERROR = 1  # Alert.Format.ERROR


class ProtocolError(Exception):
    """The server closed the websocket, refused it, or answered something unusable."""


# ---------------------------------------------------------------------------------------------- HTTP

async def http_get(host: str, port: int, path: str, cookies: dict[str, str], timeout: float = 30.0
                   ) -> tuple[int, dict[str, str], bytes]:
    """A minimal HTTP/1.1 GET on a fresh connection: status, cookies set by the answer, body.

    (The standard library's urllib blocks the event loop; this is all a page load needs.)
    """
    async def run():
        reader, writer = await asyncio.open_connection(host, port)
        try:
            head = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close", "Accept: */*",
                    "User-Agent: calculus-lab-room-bench"]
            if cookies:
                head.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()))
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
            await writer.drain()
            data = await reader.read()
        finally:
            writer.close()
        header, _, body = data.partition(b"\r\n\r\n")
        lines = header.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        set_cookies = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "set-cookie":
                pair = value.strip().split(";", 1)[0]
                key, _, val = pair.partition("=")
                set_cookies[key.strip()] = val.strip()
        return status, set_cookies, body

    return await asyncio.wait_for(run(), timeout)


# -------------------------------------------------------------------------------------------- widgets

@dataclass
class Widget:
    """One widget of the page as the browser holds it: what the server drew and the current value."""

    id: str
    kind: str  # the Element oneof name: slider, selectbox, ...
    label: str
    fragment_id: str
    proto: object  # the element's proto (Slider, Selectbox, ...)
    value: object = None  # in WidgetState terms: list[float], str, bool, int, float, list[str]

    @property
    def movable(self) -> bool:
        p = self.proto
        if self.kind not in MOVABLE or getattr(p, "disabled", False) or getattr(p, "form_id", ""):
            return False  # a widget in a form sends nothing until its submit button
        if self.kind == "slider" and p.type == Slider.SELECT_SLIDER:
            return len(p.options) > 1
        if self.kind in ("selectbox", "radio", "multiselect"):
            return len(p.options) > 1
        if self.kind == "button_group":
            return len(p.options) > 1
        if self.kind == "slider":
            return p.max > p.min
        return True

    @property
    def query_param_key(self) -> str | None:
        p = self.proto
        return p.query_param_key if p.HasField("query_param_key") else None

    @property
    def user_key(self) -> str | None:
        """The ``key=`` the app gave the widget, read from its id (``$$ID-<hash>-<key>``)."""
        m = re.match(r"^\$\$ID-[0-9a-f]+-(.+)$", self.id)
        return m.group(1) if m and m.group(1) != "None" else None

    def url_keys(self) -> list[str]:
        """Query parameters that may set this widget from a link: its ``bind="query-params"`` key,
        else guesses from its widget key (whole, or after the last ``:``) — to be checked by loading."""
        keys = [self.query_param_key] if self.query_param_key else []
        if self.user_key:
            keys += [self.user_key, self.user_key.rsplit(":", 1)[-1]]
        return list(dict.fromkeys(k for k in keys if k))

    def state(self) -> WidgetState | None:
        """This widget's entry in ``ClientState.widget_states`` (None: nothing to send)."""
        if self.value is None:
            return None
        ws = WidgetState(id=self.id)
        p = self.proto
        if self.kind == "slider":
            if p.type == Slider.SELECT_SLIDER:
                ws.string_array_value.data.extend(self.value)
            else:
                ws.double_array_value.data.extend(self.value)
        elif self.kind in ("selectbox", "radio", "text_input", "text_area"):
            ws.string_value = self.value
        elif self.kind == "checkbox":
            ws.bool_value = bool(self.value)
        elif self.kind == "number_input":
            if p.data_type == p.INT:
                ws.int_value = int(self.value)
            else:
                ws.double_value = float(self.value)
        elif self.kind in ("button_group", "multiselect"):
            ws.string_array_value.data.extend(self.value)
        else:
            return None
        return ws

    def url_value(self) -> str | None:
        """The value as a query parameter, for a link that seeds it (single-valued widgets only)."""
        v = self.value
        if isinstance(v, list):
            if len(v) != 1:
                return None
            v = v[0]
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            if self.kind == "slider" and self.proto.data_type == Slider.INT or v.is_integer():
                return str(int(v))
            return f"{v:.10g}"
        return str(v)

    def random_value(self, rng: random.Random, skip_options: re.Pattern | None = None):
        """A random valid value different from the current one (None if there is none)."""
        for _ in range(20):
            new = self._draw(rng, skip_options)
            if new is not None and new != self.value:
                return new
        return None

    def _draw(self, rng: random.Random, skip: re.Pattern | None):
        p = self.proto

        def pick(options):
            allowed = [o for o in options if not (skip and skip.search(o))]
            return rng.choice(allowed) if allowed else None

        if self.kind == "slider" and p.type == Slider.SELECT_SLIDER:
            options = list(p.options)
            if len(self.value or []) == 2:
                i, j = sorted(rng.sample(range(len(options)), 2))
                return [options[i], options[j]]
            choice = pick(options)
            return None if choice is None else [choice]
        if self.kind == "slider":
            step = p.step or 1.0
            n = int(round((p.max - p.min) / step))
            count = len(self.value or []) or 1

            def at(k):
                v = min(max(p.min + k * step, p.min), p.max)
                return float(int(round(v))) if p.data_type == Slider.INT else float(f"{v:.12g}")

            ks = sorted(rng.randint(0, n) for _ in range(count))
            return [at(k) for k in ks]
        if self.kind == "number_input":
            step = p.step or 1.0
            current = self.value if self.value is not None else (p.min if p.has_min else 0.0)
            if p.has_min and p.has_max and (p.max - p.min) / step <= 1e6:
                v = p.min + rng.randint(0, int((p.max - p.min) / step)) * step
            else:
                v = current + rng.choice([-1, 1]) * rng.randint(1, 5) * step
            if p.has_min:
                v = max(v, p.min)
            if p.has_max:
                v = min(v, p.max)
            return int(round(v)) if p.data_type == p.INT else float(f"{v:.12g}")
        if self.kind in ("selectbox", "radio"):
            return pick(list(p.options))
        if self.kind == "checkbox":
            return not bool(self.value)
        if self.kind == "button_group":
            options = [o.content for o in p.options]
            if p.click_mode == p.SINGLE_SELECT:
                choice = pick(options)
                return None if choice is None else [choice]
            return sorted(rng.sample(options, rng.randint(0, len(options))), key=options.index)
        if self.kind == "multiselect":
            options = [o for o in p.options if not (skip and skip.search(o))]
            cap = p.max_selections or len(options)
            if not options:
                return None
            return rng.sample(options, rng.randint(1, min(cap, len(options), 3)))
        return None


def _initial_value(kind: str, p) -> object:
    """The value the browser shows for a freshly drawn widget (server-set value, else the default)."""
    if kind == "slider":
        if p.type == Slider.SELECT_SLIDER:
            if p.set_value and p.raw_value:
                return list(p.raw_value)
            return [p.options[int(i)] for i in p.default if 0 <= int(i) < len(p.options)]
        return list(p.value) if p.set_value and p.value else list(p.default)
    if kind in ("selectbox", "radio"):
        if p.set_value:
            return p.raw_value if p.HasField("raw_value") else None
        return p.options[p.default] if p.HasField("default") and 0 <= p.default < len(p.options) else None
    if kind == "checkbox":
        return p.value if p.set_value else p.default
    if kind == "number_input":
        if p.set_value:
            return p.value if p.HasField("value") else None
        return p.default if p.HasField("default") else None
    if kind == "button_group":
        if p.set_value:
            return list(p.raw_values)
        return [p.options[i].content for i in p.default if 0 <= i < len(p.options)]
    if kind == "multiselect":
        if p.set_value:
            return list(p.raw_values)
        return [p.options[i] for i in p.default if 0 <= i < len(p.options)]
    if kind in ("text_input", "text_area"):
        if p.set_value:
            return p.value if p.HasField("value") else None
        return p.default if p.HasField("default") else None
    return None


# -------------------------------------------------------------------------------------------- session

@dataclass
class RunResult:
    """One rerun as seen by the client: from sending the BackMsg to its ``script_finished``."""

    kind: str  # "load" or "move"
    seconds: float  # until script_finished (or until the client gave up)
    finished: bool
    hung: bool  # no script_finished within the hang timeout
    fragment: bool = False
    widget: str = ""
    exceptions: list[str] = field(default_factory=list)
    error_alerts: list[str] = field(default_factory=list)
    problem: str = ""  # page_not_found, wrong page, websocket closed, ...
    bytes: int = 0
    messages: int = 0
    cached_refs: int = 0  # elements the server sent as a reference to the client's cache

    @property
    def ok(self) -> bool:
        return self.finished and not self.hung and not self.exceptions and not self.problem


class PageSession:
    """One simulated browser tab on one page."""

    def __init__(self, host: str, port: int, page: str, query_string: str = "", hang_timeout: float = 30.0,
                 give_up: float | None = None, skip_options: str | None = "upload",
                 rng: random.Random | None = None):
        self.host, self.port, self.page = host, port, page
        self.query_string = query_string.lstrip("?")
        self.hang_timeout = hang_timeout  # a rerun slower than this is a hung session
        self.give_up = give_up or 2 * hang_timeout  # the client stops waiting for script_finished here
        self.skip_options = re.compile(skip_options, re.I) if skip_options else None
        self.rng = rng or random.Random()
        self.cookies: dict[str, str] = {}
        self.widgets: dict[str, Widget] = {}
        self.page_script_hash = ""
        self.pages: dict[str, str] = {}  # url_pathname → page_script_hash, from the navigation message
        self._ws = None
        self._reader: asyncio.Task | None = None
        self._current: dict | None = None  # the rerun being waited for
        self._cache: dict[str, list] = {}  # hash → [encoded ForwardMsg, run count when last used, fragment id]
        self._run_count = 0
        self._max_age = 2
        self._idle = asyncio.Event()
        self.closed_reason = ""

    # -- connection ------------------------------------------------------------------------------
    async def open(self, timeout: float = 30.0) -> None:
        """What the browser does before the websocket: the page itself, then the health check."""
        path = "/" + self.page + (("?" + self.query_string) if self.query_string else "")
        status, cookies, _ = await http_get(self.host, self.port, path, self.cookies, timeout)
        if status != 200:
            raise ProtocolError(f"GET {path}: HTTP {status}")
        self.cookies.update(cookies)  # SRV (HAProxy's sticky cookie), if any
        status, cookies, _ = await http_get(self.host, self.port, "/_stcore/health", self.cookies, timeout)
        if status != 200:
            raise ProtocolError(f"GET /_stcore/health: HTTP {status}")
        self.cookies.update(cookies)  # _streamlit_xsrf
        token = self.cookies.get("_streamlit_xsrf", "PLACEHOLDER_AUTH_TOKEN")
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else None
        try:
            self._ws = await connect(f"ws://{self.host}:{self.port}/_stcore/stream",
                                     origin=f"http://{self.host}:{self.port}",  # as the page's own script
                                     subprotocols=["streamlit", token], additional_headers=headers,
                                     max_size=None, ping_interval=None,  # browsers don't ping
                                     open_timeout=timeout, close_timeout=2,
                                     user_agent_header="calculus-lab-room-bench")
        except Exception as exc:  # noqa: BLE001 - any failure to connect is the server's answer
            raise ProtocolError(f"websocket: {type(exc).__name__}: {exc}") from exc
        self._reader = asyncio.create_task(self._read())

    @property
    def backend(self) -> str:
        """The sticky cookie's value: which backend HAProxy chose ('' without a proxy)."""
        return self.cookies.get("SRV", "")

    async def close(self) -> None:
        if self._ws is not None:
            try:
                await asyncio.wait_for(self._ws.close(), 3)
            except Exception:  # noqa: BLE001
                pass
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass

    # -- reruns ----------------------------------------------------------------------------------
    async def load(self) -> RunResult:
        """The first run: the page named by its URL path, like opening the link."""
        return await self._rerun("load", page_name=self.page)

    async def rerun_same(self) -> RunResult:
        return await self._rerun("move", widget="(rerun)")

    async def move(self) -> RunResult:
        """Set one random movable widget to a random valid value and wait for the rerun."""
        candidates = [w for w in self.widgets.values() if w.movable]
        self.rng.shuffle(candidates)
        for widget in candidates:
            value = widget.random_value(self.rng, self.skip_options)
            if value is not None:
                widget.value = value
                return await self._rerun("move", fragment_id=widget.fragment_id, widget=widget.label)
        return await self.rerun_same()  # nothing to move: the page was drawn without controls

    def set_value(self, label_or_key: str, value) -> Widget:
        for w in self.widgets.values():
            if label_or_key in (w.label, w.query_param_key):
                w.value = value
                return w
        raise KeyError(label_or_key)

    async def _rerun(self, kind: str, page_name: str = "", fragment_id: str = "", widget: str = "") -> RunResult:
        if self._ws is None or self.closed_reason:
            return RunResult(kind, 0.0, False, False, widget=widget, problem=self.closed_reason or "not connected")
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = self.query_string
        if page_name:
            cs.page_name = page_name
        else:
            cs.page_script_hash = self.page_script_hash
        for w in self.widgets.values():
            state = w.state()
            if state is not None:
                cs.widget_states.widgets.append(state)
        if fragment_id:
            cs.fragment_id = fragment_id
        cs.cached_message_hashes.extend(self._cache)
        cs.context_info.timezone = "UTC"
        cs.context_info.locale = "en-US"
        cs.context_info.url = f"http://{self.host}:{self.port}/{self.page}"
        done = asyncio.get_running_loop().create_future()
        self._current = {"done": done, "fragment": fragment_id, "seen": set(), "exceptions": [], "alerts": [],
                         "problem": "", "bytes": 0, "messages": 0, "refs": 0, "page_name": page_name}
        start = time.perf_counter()
        try:
            await self._ws.send(msg.SerializeToString())
        except Exception as exc:  # noqa: BLE001
            self.closed_reason = f"websocket send: {type(exc).__name__}"
            return RunResult(kind, 0.0, False, False, widget=widget, problem=self.closed_reason)
        finished = await self._wait(done, self.give_up)
        hung = not finished or time.perf_counter() - start > self.hang_timeout
        seconds = time.perf_counter() - start
        cur, self._current = self._current, None
        if done.done() and not done.cancelled() and done.exception() is not None:
            cur["problem"] = cur["problem"] or str(done.exception())
        elif not done.done():
            done.cancel()
        return RunResult(kind, seconds, finished, hung, fragment=bool(fragment_id), widget=widget,
                         exceptions=cur["exceptions"], error_alerts=cur["alerts"], problem=cur["problem"],
                         bytes=cur["bytes"], messages=cur["messages"], cached_refs=cur["refs"])

    @staticmethod
    async def _wait(done: asyncio.Future, timeout: float) -> bool:
        """True when the run finished within ``timeout``; False on a timeout or a closed socket."""
        try:
            await asyncio.wait_for(asyncio.shield(done), timeout)
            return True
        except (asyncio.TimeoutError, ProtocolError):
            return False

    # -- the receiving side ----------------------------------------------------------------------
    async def _read(self) -> None:
        try:
            async for data in self._ws:
                if isinstance(data, str):
                    continue
                msg = ForwardMsg()
                msg.ParseFromString(data)
                msg = self._through_cache(msg, data)
                if msg is not None:
                    self._handle(msg, len(data))
            self.closed_reason = f"websocket closed by the server ({self._ws.close_code})"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            self.closed_reason = f"websocket: {type(exc).__name__}: {exc}"
        cur = self._current
        if cur is not None and not cur["done"].done():
            cur["problem"] = self.closed_reason
            cur["done"].set_exception(ProtocolError(self.closed_reason))

    def _through_cache(self, msg: ForwardMsg, data: bytes) -> ForwardMsg | None:
        """The browser's ForwardMsgCache: keep cacheable messages, resolve ``ref_hash`` references."""
        if msg.WhichOneof("type") == "ref_hash":
            entry = self._cache.get(msg.ref_hash)
            cur = self._current
            if entry is None:
                if cur is not None:
                    cur["problem"] = cur["problem"] or f"the server referred to an uncached message {msg.ref_hash}"
                return None
            entry[1] = self._run_count
            full = ForwardMsg()
            full.ParseFromString(entry[0])
            full.metadata.CopyFrom(msg.metadata)
            if cur is not None:
                cur["refs"] += 1
            return full
        if msg.metadata.cacheable and msg.hash:
            if msg.hash in self._cache:
                self._cache[msg.hash][1] = self._run_count
            else:
                fragment = msg.delta.fragment_id if msg.WhichOneof("type") == "delta" else ""
                self._cache[msg.hash] = [data, self._run_count, fragment]
        return msg

    def _age_cache(self, fragment_id: str) -> None:
        self._run_count += 1
        for key, (_, last_used, fragment) in list(self._cache.items()):
            if fragment_id and fragment != fragment_id:
                continue  # a fragment run ages only its own fragment's messages
            if self._run_count - last_used > self._max_age:
                del self._cache[key]

    def _handle(self, msg: ForwardMsg, size: int) -> None:
        cur = self._current
        if cur is not None:
            cur["bytes"] += size
            cur["messages"] += 1
        kind = msg.WhichOneof("type")
        if kind == "delta":
            delta = msg.delta
            if delta.WhichOneof("type") != "new_element":
                return
            element = delta.new_element
            etype = element.WhichOneof("type")
            if etype in KNOWN_WIDGETS:
                proto = getattr(element, etype)
                old = self.widgets.get(proto.id)
                value = _initial_value(etype, proto)
                if old is not None and not getattr(proto, "set_value", False):
                    value = old.value  # the browser keeps what the user set
                self.widgets[proto.id] = Widget(proto.id, etype, proto.label, delta.fragment_id, proto, value)
                if cur is not None:
                    cur["seen"].add(proto.id)
            elif etype == "exception" and cur is not None:
                cur["exceptions"].append(f"{element.exception.type}: {element.exception.message[:160]}")
            elif etype == "alert" and element.alert.format == ALERT_ERROR and cur is not None:
                cur["alerts"].append(element.alert.body[:160])
        elif kind == "navigation":
            self.pages = {p.url_pathname: p.page_script_hash for p in msg.navigation.app_pages}
            self.page_script_hash = msg.navigation.page_script_hash
            if cur is not None and cur["page_name"] and self.pages.get(cur["page_name"]) != self.page_script_hash:
                cur["problem"] = cur["problem"] or f"the server ran another page than /{cur['page_name']}"
        elif kind == "page_info_changed":
            # The app changed st.query_params: the browser rewrites its address bar and sends the new
            # query string with every later rerun (the server repopulates st.query_params from it).
            self.query_string = msg.page_info_changed.query_string
        elif kind == "new_session":
            self._max_age = msg.new_session.config.max_cached_message_age or self._max_age
            if not self.page_script_hash:
                self.page_script_hash = msg.new_session.page_script_hash
        elif kind == "page_not_found":
            if cur is not None:
                cur["problem"] = f"page not found: /{self.page}"
        elif kind == "session_event":
            if msg.session_event.HasField("script_compilation_exception") and cur is not None:
                exc = msg.session_event.script_compilation_exception
                cur["exceptions"].append(f"{exc.type}: {exc.message[:160]}")
        elif kind == "script_finished":
            if msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                self._age_cache(cur["fragment"] if cur is not None else "")
            if cur is None or msg.script_finished not in FINISHED:
                return
            # The browser forgets the widgets its last run did not draw (a fragment run redraws only
            # the fragment's own).
            scope = cur["fragment"]
            for wid in [w.id for w in self.widgets.values()
                        if w.id not in cur["seen"] and (not scope or w.fragment_id == scope)]:
                del self.widgets[wid]
            if not cur["done"].done():
                cur["done"].set_result(msg.script_finished)


def link_query(pairs: dict[str, str]) -> str:
    return "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs.items())
