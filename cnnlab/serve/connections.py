"""Connection deadlines for ``cnnlab serve``: a request must arrive whole within a time limit.

uvicorn's h11 protocol closes a connection left idle after a response
(``timeout_keep_alive``) but waits forever for a request that trickles in a byte at a
time, head or body (issue 23: slow headers and bodies never timed out, each holding a
connection). :class:`DeadlineProtocol` arms one timer when a connection opens and after
each response, and disarms it when the request's head and body have both arrived. If
it fires first, the client gets ``408 Request Timeout`` (when no answer has started) and
the connection is closed; the app's pending body read then ends as a client disconnect,
which the app drops without a log line. See docs/serve.md, "Under load".
"""

from __future__ import annotations

import json

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["DeadlineProtocol", "REQUEST_TIMEOUT_S"]

REQUEST_TIMEOUT_S = 10.0  # head and body of one request; a 2 MB body on a local link takes milliseconds

_RECEIVED = (h11.DONE, h11.MUST_CLOSE, h11.CLOSED, h11.ERROR)  # the client's side: request complete or over


def _timeout_response(seconds: float) -> bytes:
    body = json.dumps({"error": f"the request did not arrive within {seconds:g} s"}).encode()
    head = (f"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n")
    return head.encode("ascii") + body


class DeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on receiving each request (head and body)."""

    request_timeout_s = REQUEST_TIMEOUT_S

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline = None
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state in _RECEIVED:
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state not in _RECEIVED:
            self._arm()  # waiting for the next request on this connection

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.request_timeout_s, self._expired)

    def _disarm(self) -> None:
        if getattr(self, "_deadline", None) is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or self.conn.their_state in _RECEIVED:
            return
        if self.cycle is None or not self.cycle.response_started:
            self.transport.write(_timeout_response(self.request_timeout_s))
        if self.cycle is not None:  # the app's pending read ends; its late answer is dropped
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.close()
