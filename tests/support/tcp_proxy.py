"""A small threaded TCP proxy the fault tests control: it sits between a daemon and RabbitMQ or
MariaDB and can cut every live connection, refuse new ones, or hold the bytes of one direction.
Faults that must land inside a window (between a commit and its answer, an apply and its ack) are
triggered by what passes through the proxy, never by a timer: a timer misses the window on a
machine faster or slower than the one the test was written on."""

import logging
import selectors
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

logger = logging.getLogger(__name__)

UPSTREAM = "up"  # client → target
DOWNSTREAM = "down"  # target → client


def _reset(sock: socket.socket) -> None:
    """Close with an RST instead of a FIN: the peer sees the connection torn down, not ended."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


@dataclass
class _Trigger:
    direction: str
    pattern: bytes
    hold_secs: float
    remaining: int
    refuse_secs: float
    fired: threading.Event = field(default_factory=threading.Event)


class _Pipe(threading.Thread):
    """One proxied connection: a client socket and its upstream socket, pumped by one thread."""

    poll_secs = 0.05

    def __init__(self, proxy: "TcpProxy", client: socket.socket, upstream: socket.socket):
        super().__init__(daemon=True, name=f"tcp-proxy-pipe-{client.fileno()}")
        self.proxy = proxy
        self.client = client
        self.upstream = upstream
        self.cut_requested = threading.Event()
        self.wire = proxy.tap.wire(proxy) if proxy.tap is not None else None

    def run(self) -> None:
        peers = {self.client: (self.upstream, UPSTREAM), self.upstream: (self.client, DOWNSTREAM)}
        with selectors.DefaultSelector() as selector:
            for sock in peers:
                sock.settimeout(5)
                selector.register(sock, selectors.EVENT_READ)
            try:
                while not self.cut_requested.is_set():
                    for key, _ in selector.select(self.poll_secs):
                        source = key.fileobj
                        target, direction = peers[source]
                        if self.proxy.is_frozen(direction):
                            # leave the bytes in the kernel buffer: the sender stalls, nothing is lost
                            continue
                        data = source.recv(65536)
                        if not data:
                            return
                        cut = False
                        if self.wire is not None:
                            data, cut = self.wire.feed(direction, data)
                        if data:
                            target.sendall(data)
                            self.proxy._inspect(direction, data)
                        if cut:
                            self.proxy._count_cut()
                            return
                    if self.proxy.frozen:
                        time.sleep(self.poll_secs)
            except OSError:
                return
            finally:
                _reset(self.client)
                _reset(self.upstream)
                self.proxy._forget(self)


class TcpProxy:
    """Forward 127.0.0.1:<ephemeral port> to `target_host:target_port`.

    cut()       tears down every current connection at once (RST to both ends)
    pause()     refuses new connections (the listener is closed); resume() listens again on the same port
    freeze(d)   stops forwarding direction "up" (client→target) or "down" (target→client), keeping the
                connection open: the peer waits for an answer that does not come; thaw() lets it flow
    cut_after(d, pattern, nth=n, refuse_secs=s)
                one-shot: once `pattern` has passed in direction d for the n-th time, hold the
                answer, let the target act on what it got, then cut (and refuse new connections
                for s seconds): the client cannot know whether its request took effect
    tap         an object whose wire(proxy) reads each connection both ways and decides what of it
                passes and when to cut it (see amqp_tap)
    """

    def __init__(self, target_host: str, target_port: int, listen_host: str = "127.0.0.1", tap=None):
        self.target = (target_host, target_port)
        # optional observer of the target→client bytes of each connection (see amqp_tap)
        self.tap = tap
        self.listen_host = listen_host
        self.port = 0
        self.connections_accepted = 0
        self.cuts = 0
        self._frozen: set[str] = set()
        self._pipes: set[_Pipe] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self._trigger: _Trigger | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> "TcpProxy":
        self._listen()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._close_listener()
        self.cut()

    def __enter__(self) -> "TcpProxy":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- faults ----------------------------------------------------------------------------
    def cut(self, timeout: float = 5.0) -> int:
        """Abruptly close every live connection; returns how many were cut."""
        with self._lock:
            pipes = list(self._pipes)
        for pipe in pipes:
            pipe.cut_requested.set()
        for pipe in pipes:
            pipe.join(timeout)
        if pipes:
            self.cuts += 1
        return len(pipes)

    def pause(self) -> None:
        self._close_listener()

    def resume(self) -> None:
        if self._listener is None and not self._stopped.is_set():
            self._listen()

    def freeze(self, direction: str) -> None:
        assert direction in (UPSTREAM, DOWNSTREAM), direction
        with self._lock:
            self._frozen.add(direction)

    def thaw(self) -> None:
        with self._lock:
            self._frozen.clear()

    def cut_after(
        self, direction: str, pattern: bytes, hold_secs: float = 0.2, *, nth: int = 1, refuse_secs: float = 0.0
    ) -> threading.Event:
        """Arm the one-shot fault described above; the returned event is set once it has fired
        (the cut is made; new connections are refused for `refuse_secs` more)."""
        assert direction in (UPSTREAM, DOWNSTREAM), direction
        trigger = _Trigger(direction, pattern.lower(), hold_secs, nth, refuse_secs)
        with self._lock:
            self._trigger = trigger
        return trigger.fired

    # -- state -----------------------------------------------------------------------------
    def via(self, url: str) -> str:
        """`url` (amqp://, mysql://...) with its host and port replaced by the proxy's."""
        parts = urlsplit(url)
        credentials = parts.netloc.rpartition("@")[0]
        address = f"{self.listen_host}:{self.port}"
        return urlunsplit(parts._replace(netloc=f"{credentials}@{address}" if credentials else address))

    @property
    def frozen(self) -> bool:
        return bool(self._frozen)

    def is_frozen(self, direction: str) -> bool:
        return direction in self._frozen

    @property
    def active_connections(self) -> int:
        with self._lock:
            return len(self._pipes)

    def wait_for_connections(self, count: int = 1, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while self.active_connections < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {count} connection(s) through the proxy to {self.target} in {timeout}s")
            time.sleep(0.02)

    # -- internals -------------------------------------------------------------------------
    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.listen_host, self.port))
        listener.listen(128)
        listener.settimeout(0.05)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._accept_thread = threading.Thread(
            target=self._accept_loop, args=(listener,), daemon=True, name=f"tcp-proxy-accept-{self.port}"
        )
        self._accept_thread.start()

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is None:
            return
        listener.close()
        if self._accept_thread is not None:
            self._accept_thread.join(5)

    def _accept_loop(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError as exc:
                logger.warning("tcp proxy: cannot reach %s: %s", self.target, exc)
                _reset(client)
                continue
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pipe = _Pipe(self, client, upstream)
            with self._lock:
                self._pipes.add(pipe)
                self.connections_accepted += 1
            pipe.start()

    def _inspect(self, direction: str, data: bytes) -> None:
        trigger = self._trigger
        if trigger is None or trigger.direction != direction or trigger.pattern not in data.lower():
            return
        with self._lock:
            if self._trigger is not trigger:
                return
            trigger.remaining -= 1
            if trigger.remaining:
                return
            self._trigger = None
            # called from the pipe thread before it reads again: the answer cannot slip through
            self._frozen.add(DOWNSTREAM if direction == UPSTREAM else UPSTREAM)
        timer = threading.Timer(trigger.hold_secs, self._fire, args=(trigger,))
        timer.daemon = True
        timer.start()

    def _fire(self, trigger: "_Trigger") -> None:
        if trigger.refuse_secs:
            self.pause()
            resume = threading.Timer(trigger.refuse_secs, self.resume)
            resume.daemon = True
            resume.start()
        self.cut()
        self.thaw()
        trigger.fired.set()

    def _count_cut(self) -> None:
        """A connection the tap cut (one connection, at a frame it chose)."""
        with self._lock:
            self.cuts += 1

    def _forget(self, pipe: _Pipe) -> None:
        with self._lock:
            self._pipes.discard(pipe)
