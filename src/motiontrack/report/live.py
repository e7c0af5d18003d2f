"""The live page of a running session, served on a local address and fed over a WebSocket.

:class:`LivePage` is a plain callback of a :class:`motiontrack.Session` (``session.on(page)``):
it turns each event into a JSON message (:func:`motiontrack.events.event_to_dict`) and sends
it to every open page. The page (one HTML text, no outside assets) shows the joint angle
against the exercise's target zone (:func:`motiontrack.report.target_zone`), turning green
when it is reached, the rep count and the last rep's ROM, the calibration prompts, data gaps,
disconnects, interrupted reps and warnings. A page opened late gets what it missed (every
event, and the angle updates of the last 20 s) before the live ones. Angle updates are sent at
most ``max_rate_hz`` times a second.

It listens on 127.0.0.1 (loopback) by default, on a free port, under a random path: the
address printed is the only way in, and a request from another web origin is refused, since
the page shows health data. It needs the ``web`` extra (``pip install motiontrack[web]``:
the ``websockets`` package).

>>> async def main():                                                  # doctest: +SKIP
...     page = LivePage(joint="knee", exercise="squat", target=target_zone("squat", joint="knee"))
...     print("open", await page.start())
...     async with Session({"thigh": "sim:thigh", "shank": "sim:shank"}, exercise="squat") as s:
...         s.on(page)
...         await asyncio.sleep(60)
...     await page.close()
"""

from __future__ import annotations

import json
import math
import secrets
import time
from collections import deque
from typing import Any

import numpy as np

from .. import events as ev
from ..conventions import JOINT_RANGE_DEG
from ..errors import ConfigurationError
from ._live_page import PAGE
from .targets import TargetZone

__all__ = ["LivePage"]

#: Angle updates of the last this many seconds (of session time) go to a page opened late,
#: for its trace, s.
RECENT_S = 20.0
#: Unsent bytes of a page's connection beyond which messages to it are skipped.
MAX_BUFFER = 1 << 20
#: Gauge range of a joint without an anatomical range (a hinge, one segment), deg.
_FREE_RANGE = (-180.0, 180.0)


class LivePage:
    """Serve the live page and push session events to it.

    Parameters
    ----------
    joint : str or None
        The session's joint (None: one segment).
    exercise : str, optional
    target : TargetZone, optional
        The zone shown and judged on the page (None: no target).
    angle : str
        Name of the primary angle (``"flexion_deg"``).
    host : str
        Address to listen on; loopback by default. Another address serves the page to the
        network: only do that on a network you trust.
    port : int
        0 = a free port chosen by the system.
    max_rate_hz : float
        Angle updates sent per second, at most (the page needs no more).
    history : int
        Events kept for a page opened late (angle updates are not kept).
    """

    def __init__(
        self,
        *,
        joint: str | None,
        exercise: str | None = None,
        target: TargetZone | None = None,
        angle: str = "flexion_deg",
        host: str = "127.0.0.1",
        port: int = 0,
        max_rate_hz: float = 20.0,
        history: int = 2000,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ConfigurationError(f"port must be 0..65535, got {port}")
        if not max_rate_hz > 0:
            raise ConfigurationError("max_rate_hz must be > 0")
        self.host, self.port = host, port
        self.min_interval = 1.0 / max_rate_hz
        self.token = secrets.token_urlsafe(12)
        rng = JOINT_RANGE_DEG.get(joint or "") or _FREE_RANGE
        self._hello = {
            "type": "hello",
            "joint": joint,
            "exercise": exercise,
            "angle": target.angle if target is not None else angle,
            "range": [rng[0], rng[1]],
            "target": None if target is None else target.to_dict(),
        }
        self._history: deque[str] = deque(maxlen=history)
        self._recent: deque[tuple[float, str]] = deque()  # (t, angle message), last 20 s
        self._last_sent = -math.inf
        self._last_finite = False
        self._clients: set[Any] = set()
        self._server: Any = None
        self.sent = 0  # messages sent to pages (all pages together)
        self.skipped = 0  # messages not sent to a stalled page

    # ------------------------------------------------------------------ serving
    @property
    def url(self) -> str:
        """The page's address (valid once :meth:`start` returned)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/{self.token}/"

    async def start(self) -> str:
        """Listen and return the page's URL."""
        # lazily: websockets is the optional `web` extra; the rest of motiontrack needs none
        from websockets.asyncio.server import serve

        self._server = await serve(
            self._handler, self.host, self.port, process_request=self._http, compression=None
        )
        self.port = next(iter(self._server.sockets)).getsockname()[1]
        return self.url

    async def close(self) -> None:
        """Close every page's connection (they show "session ended") and stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> LivePage:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _http(self, connection: Any, request: Any) -> Any:
        """Serve the page; let through the WebSocket handshake of ``ws``; refuse the rest."""
        from websockets.datastructures import Headers  # lazily: the optional `web` extra
        from websockets.http11 import Response  # lazily: the optional `web` extra

        origin = request.headers.get("Origin")
        if origin is not None and origin != self.url.rsplit("/", 2)[0]:
            return connection.respond(403, "Forbidden: another web origin\n")
        if request.path == f"/{self.token}/ws":
            return None  # the WebSocket handshake goes on
        if request.path in (f"/{self.token}/", f"/{self.token}"):
            body = PAGE.encode("utf-8")
            csp = (
                "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
                f"connect-src ws://{request.headers.get('Host', '')}"
            )
            headers = Headers(
                [
                    ("Content-Type", "text/html; charset=utf-8"),
                    ("Content-Length", str(len(body))),
                    ("Cache-Control", "no-store"),
                    ("Content-Security-Policy", csp),
                    ("X-Content-Type-Options", "nosniff"),
                    ("Referrer-Policy", "no-referrer"),
                ]
            )
            return Response(200, "OK", headers, body)
        return connection.respond(404, "Not found\n")

    async def _handler(self, ws: Any) -> None:
        # lazily: websockets is the optional `web` extra
        from websockets.asyncio.server import broadcast

        # what the page missed, then the live events: written without a pause in between,
        # so that no event comes between the two or out of order
        for msg in [json.dumps(self._hello), *self._history, *(m for _, m in self._recent)]:
            broadcast([ws], msg)
        self._clients.add(ws)
        try:
            await ws.wait_closed()
        finally:
            self._clients.discard(ws)

    # ------------------------------------------------------------------ events
    def __call__(self, event: ev.SessionEvent) -> None:
        """Session callback: send ``event`` to the open pages (runs in the session's loop)."""
        if isinstance(event, ev.OrientationUpdate):
            return
        if isinstance(event, ev.AngleUpdate):
            self._angle(event)
            return
        d = ev.event_to_dict(event)
        if isinstance(event, ev.RepCompleted):  # shown as the terminal shows them: one rounding
            r = event.rep  # of the full value (the JSON's are rounded to 2 decimals already)
            d["shown"] = {k: f"{getattr(r, k):.1f}" for k in ("rom_deg", "min_deg", "max_deg")}
        msg = json.dumps(d, default=ev.json_default, allow_nan=False)
        self._history.append(msg)
        self._send(msg)

    def _angle(self, event: ev.AngleUpdate) -> None:
        finite = bool(np.isfinite(event.angle_deg))
        now = time.monotonic()
        # at most max_rate_hz, but a change between known and unknown is sent at once
        if now - self._last_sent < self.min_interval and finite == self._last_finite:
            return
        d = ev.event_to_dict(event)
        d["final"] = event.final
        msg = json.dumps(d, default=ev.json_default, allow_nan=False)
        self._recent.append((event.t, msg))  # the trace of the last 20 s, for a late page
        while self._recent and self._recent[0][0] < event.t - RECENT_S:
            self._recent.popleft()
        self._last_sent, self._last_finite = now, finite
        self._send(msg)

    def _send(self, msg: str) -> None:
        if not self._clients:
            return
        # lazily: websockets is the optional `web` extra
        from websockets.asyncio.server import broadcast

        # writes without waiting; a page whose connection has stalled (over 1 MiB unsent) is
        # skipped rather than buffered without bound
        pages = [c for c in self._clients if c.transport.get_write_buffer_size() < MAX_BUFFER]
        broadcast(pages, msg)
        self.sent += len(pages)
        self.skipped += len(self._clients) - len(pages)
