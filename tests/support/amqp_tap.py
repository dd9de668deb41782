"""Reads the AMQP 0-9-1 frames of every connection through the TCP proxy, both ways, with pamqp
(pika's sibling frame codec). It counts which message_ids were delivered to the client and how
often (the consumer cannot tell us how many redeliveries its inbox absorbed, the wire can), and it
causes faults at a given frame instead of at a given moment, so a fault test tests the same thing
on a fast machine and a slow one."""

import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from pamqp import commands, header
from pamqp import frame as amqp_frame

from tests.support.tcp_proxy import DOWNSTREAM, UPSTREAM

PROTOCOL_HEADER = b"AMQP"
_DELIVERIES = (commands.Basic.Deliver, commands.Basic.GetOk)


def _frame_size(buffer: bytearray) -> int:
    """Size of the complete frame at the start of `buffer`, or 0 if it has not all arrived."""
    if buffer[:4] == PROTOCOL_HEADER:
        return 8 if len(buffer) >= 8 else 0
    if len(buffer) < 7:
        return 0
    size = 7 + int.from_bytes(buffer[3:7], "big") + 1
    return size if len(buffer) >= size else 0


@dataclass
class _Rule:
    direction: str
    method: str
    at: set[int]
    cut: bool
    freeze: str = ""
    fired: threading.Event = field(default_factory=threading.Event)


class _ConnectionWire:
    """One proxied connection: splits each direction into whole frames and asks the tap what to
    do with each before it passes."""

    def __init__(self, tap: "AmqpTap", proxy):
        self.tap = tap
        self.proxy = proxy
        self.pending = {UPSTREAM: bytearray(), DOWNSTREAM: bytearray()}
        self.awaiting_header: set[int] = set()

    def feed(self, direction: str, data: bytes) -> tuple[bytes, bool]:
        """What to forward of `data` (whole frames only; a partial one waits for its rest), and
        whether to cut the connection right after it."""
        buffer = self.pending[direction]
        buffer += data
        forward = bytearray()
        while size := _frame_size(buffer):
            raw = bytes(buffer[:size])
            del buffer[:size]
            _, channel, frame = amqp_frame.unmarshal(raw)
            if self.tap._before(self.proxy, direction, frame):
                return bytes(forward), True
            forward += raw
            if direction == DOWNSTREAM:
                self._observe(channel, frame)
        return bytes(forward), False

    def _observe(self, channel: int, frame) -> None:
        if isinstance(frame, _DELIVERIES):
            self.awaiting_header.add(channel)
        elif isinstance(frame, header.ContentHeader) and channel in self.awaiting_header:
            self.awaiting_header.discard(channel)
            self.tap._delivered(frame.properties.message_id)


class AmqpTap:
    """Give to TcpProxy(tap=...).

    Counts deliveries (basic.deliver / basic.get-ok) by message_id, and each method frame by
    direction, over every connection the proxy carries. Faults, armed before or during a test:

    cut_before(direction, method, at=[n, ...])
        the n-th `method` frame in `direction` never passes: its connection is cut just before it
        (an ack that never reaches the broker: the consumer applied the batch, the broker
        redelivers it)
    freeze_after(direction, method, at=n, hold=d)
        once the n-th `method` frame has passed, direction `hold` stops flowing (TcpProxy.freeze)
    """

    def __init__(self):
        self.deliveries: Counter = Counter()
        self.frames: Counter = Counter()
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()

    def wire(self, proxy) -> _ConnectionWire:
        return _ConnectionWire(self, proxy)

    # -- faults ----------------------------------------------------------------------------
    def cut_before(self, direction: str, method: type, *, at: Iterable[int]) -> threading.Event:
        """The returned event is set when the last of the cuts has happened."""
        return self._arm(_Rule(direction, method.name, set(at), cut=True))

    def freeze_after(self, direction: str, method: type, *, at: int, hold: str) -> threading.Event:
        return self._arm(_Rule(direction, method.name, {at}, cut=False, freeze=hold))

    def _arm(self, rule: _Rule) -> threading.Event:
        assert rule.direction in (UPSTREAM, DOWNSTREAM) and rule.at, rule
        with self._lock:
            self._rules.append(rule)
        return rule.fired

    def _before(self, proxy, direction: str, frame) -> bool:
        """Count `frame`; True if its connection must be cut before it passes."""
        name = getattr(frame, "name", type(frame).__name__)
        with self._lock:
            self.frames[direction, name] += 1
            seen = self.frames[direction, name]
            rules = [rule for rule in self._rules if (rule.direction, rule.method) == (direction, name)]
        cut = False
        for rule in rules:
            if seen not in rule.at:
                continue
            if rule.freeze:
                proxy.freeze(rule.freeze)
            cut = cut or rule.cut
            if seen == max(rule.at):
                rule.fired.set()
        return cut

    # -- counts ----------------------------------------------------------------------------
    def count(self, direction: str, method: type) -> int:
        with self._lock:
            return self.frames[direction, method.name]

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
