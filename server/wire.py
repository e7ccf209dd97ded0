"""The websocket wire: uvicorn's sans-I/O websocket protocol, with its transport exposed.

Fan-out to thousands of connections is the hot path of a meeting. Going through the ASGI
`send` for each connection costs a coroutine, a dict and a frame build per connection; here
a message is serialised into a websocket frame once and the same bytes are written to every
transport that may see it. The subclass only publishes itself in the ASGI scope under
`phonghop.wire`; uvicorn still owns the handshake, pings, reading and closing.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode

WIRE_KEY = "phonghop.wire"
READ_AHEAD = 8  # messages a connection may have waiting for the app before reading stops


class WireProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websocket protocol, reachable from the app for direct frame writes."""

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None and self.response.status_code == 101:
            scope["extensions"][WIRE_KEY] = self

    def send_receive_event_to_app(self) -> None:
        # uvicorn stops reading after every message and starts again when the app takes it:
        # two epoll_ctl calls per message, a tenth of a ballot's cost in a vote burst. Here
        # reading stops only when the app is READ_AHEAD messages behind (still back-pressure:
        # a client cannot queue more), and uvicorn's `receive` starts it once all are taken.
        paused = self.read_paused
        self.read_paused = True  # uvicorn's own pause is skipped
        try:
            super().send_receive_event_to_app()
        finally:
            self.read_paused = paused
        if not paused and self.queue.qsize() >= READ_AHEAD:
            self.read_paused = True
            self.transport.pause_reading()

    def write_frame(self, frame: bytes) -> bool:
        """Write a pre-built frame unless the connection is closing; False if not written."""
        if self.close_sent or self.disconnected or self.transport.is_closing():
            return False
        self.transport.write(frame)
        return True

    def buffered(self) -> int:
        """Bytes written but not yet taken by the kernel: how far behind this client is."""
        return self.transport.get_write_buffer_size()

    def fail(self, code: int, reason: str, grace: float = 2.0) -> None:
        """Send a close frame now; drop the connection when the client answers, or after `grace`.

        Used when the client misbehaves (too slow, flooding). The socket is not closed at
        once: a client still sending would then get a reset, and a reset discards the
        close frame it has not read yet. Its input is drained and ignored meanwhile.
        """
        if self.close_sent or self.transport.is_closing():
            return
        try:
            self.conn.send_close(code, reason)
            self.transport.write(b"".join(self.conn.data_to_send()))
        except Exception:  # the protocol may already be closing; dropping is what matters
            pass
        self.close_sent = True
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        # uvicorn closes the transport when the client's close frame arrives, and leaves it
        # open when the app returns while this timer is set.
        self.close_timer = self.loop.call_later(grace, self.transport.abort)


def text_frame(payload: bytes) -> bytes:
    """A complete, unmasked server-to-client text frame for `payload` (UTF-8 JSON)."""
    return Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])
