"""uvicorn's HTTP protocol, with a bound on the request head and the error envelope for a request
it cannot parse.

uvicorn answers a request line it cannot parse with a plain-text 400 before any application code
runs, and with httptools it takes headers of any size: one 300 MB header was read into memory
whole. This protocol refuses a request head (request line and headers) over 64 KiB as soon as
that much has arrived, and answers both as 400 / 7201 in the JSON envelope, like every other
error; everything else is uvicorn's.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from lms_progress.errors import ErrorCode, error_body

MAX_HEAD_BYTES = 64 * 1024

_BODY = error_body(
    ErrorCode.INVALID_PARAMETER,
    "Invalid HTTP request: malformed, or its request line and headers over 64 KiB",
)


class HeadTooLong(Exception):
    pass


class EnvelopeHttpToolsProtocol(HttpToolsProtocol):
    # Bytes received of the request head now being read; None once its headers are complete.
    # (Counted per chunk read, so memory stays within the bound plus one read.)
    _head: int | None = 0

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return
        if self._head is not None:
            self._head += len(data)
        super().data_received(data)
        too_long = self._head is not None and self._head > MAX_HEAD_BYTES
        if too_long and not self.transport.is_closing():
            self.logger.warning("Request head over %d bytes.", MAX_HEAD_BYTES)
            self.send_400_response("")

    def on_headers_complete(self) -> None:
        self._head = None
        # A head that came in one read is measured here: its request line and headers as read.
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > MAX_HEAD_BYTES:
            raise HeadTooLong  # httptools raises it on as a parser error: uvicorn's 400
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._head = 0  # the next request on this connection starts its head
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        content = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: %d\r\n" % len(_BODY),
                b"connection: close\r\n",
                b"\r\n",
                _BODY,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()
