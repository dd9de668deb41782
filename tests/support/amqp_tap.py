"""Reads the broker→client side of an AMQP 0-9-1 connection passing through the TCP proxy and
counts which message_ids were delivered to the client, and how often: the consumer cannot tell us
how many redeliveries its inbox absorbed, the wire can."""

import struct
import threading
from collections import Counter

FRAME_METHOD, FRAME_HEADER = 1, 2
FRAME_END = 0xCE
BASIC_CLASS = 60
BASIC_DELIVER, BASIC_GET_OK = 60, 71
# property flags of basic content headers, in wire order, up to message-id
_SHORTSTR, _TABLE, _OCTET = "shortstr", "table", "octet"
_PROPERTIES_BEFORE_MESSAGE_ID = (
    (0x8000, _SHORTSTR),  # content-type
    (0x4000, _SHORTSTR),  # content-encoding
    (0x2000, _TABLE),  # headers
    (0x1000, _OCTET),  # delivery-mode
    (0x0800, _OCTET),  # priority
    (0x0400, _SHORTSTR),  # correlation-id
    (0x0200, _SHORTSTR),  # reply-to
    (0x0100, _SHORTSTR),  # expiration
)
_MESSAGE_ID_FLAG = 0x0080


def _message_id(header_payload: bytes) -> str | None:
    flags = struct.unpack_from(">H", header_payload, 12)[0]
    pos = 14
    for flag, kind in _PROPERTIES_BEFORE_MESSAGE_ID:
        if not flags & flag:
            continue
        if kind == _SHORTSTR:
            pos += 1 + header_payload[pos]
        elif kind == _TABLE:
            pos += 4 + struct.unpack_from(">I", header_payload, pos)[0]
        else:
            pos += 1
    if not flags & _MESSAGE_ID_FLAG:
        return None
    size = header_payload[pos]
    return header_payload[pos + 1 : pos + 1 + size].decode()


class _ConnectionReader:
    def __init__(self, tap: "DeliveryTap"):
        self.tap = tap
        self.buffer = bytearray()
        self.expecting_header: set[int] = set()

    def feed(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= 7:
            frame_type, channel, size = struct.unpack_from(">BHI", self.buffer, 0)
            if len(self.buffer) < 8 + size:
                return
            payload = bytes(self.buffer[7 : 7 + size])
            del self.buffer[: 8 + size]
            if frame_type == FRAME_METHOD and size >= 4:
                class_id, method_id = struct.unpack_from(">HH", payload, 0)
                if class_id == BASIC_CLASS and method_id in (BASIC_DELIVER, BASIC_GET_OK):
                    self.expecting_header.add(channel)
            elif frame_type == FRAME_HEADER and channel in self.expecting_header:
                self.expecting_header.discard(channel)
                self.tap._delivered(_message_id(payload))


class DeliveryTap:
    """Give to TcpProxy(tap=...): counts deliveries (basic.deliver / basic.get-ok) by message_id
    over every connection the proxy carries."""

    def __init__(self):
        self.deliveries: Counter = Counter()
        self._lock = threading.Lock()

    def reader(self) -> _ConnectionReader:
        return _ConnectionReader(self)

    def _delivered(self, message_id: str | None) -> None:
        with self._lock:
            self.deliveries[message_id] += 1

    @property
    def total(self) -> int:
        return self.deliveries.total()

    @property
    def delivered_more_than_once(self) -> int:
        return sum(1 for count in self.deliveries.values() if count > 1)

    @property
    def extra_deliveries(self) -> int:
        return self.total - len(self.deliveries)
