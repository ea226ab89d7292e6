"""uvicorn's HTTP protocol, answering a request it cannot parse in the error envelope.

uvicorn answers a request line or header it cannot parse (malformed, or longer than its parser
takes, about 64 KB) with a plain-text 400 before any application code runs. This protocol sends
the same 400 as JSON in the envelope, like every other error; everything else is uvicorn's.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from lms_progress.errors import ErrorCode, error_body

_BODY = error_body(
    ErrorCode.INVALID_PARAMETER,
    "Invalid HTTP request: malformed, or a request line or header too long",
)


class EnvelopeHttpToolsProtocol(HttpToolsProtocol):
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
