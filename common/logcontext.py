"""What each log line says it belongs to: the HTTP request id or the broker message id(s).

The request-id middleware binds the request id; a consumer binds the ids of the messages it is
handling. Context variables follow the work into `sync_to_async` threads, so a line logged by a
sync view under ASGI still carries its request's id.
"""

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from common.daemons import daemon_names, daemon_spec

request_id_var: ContextVar[str] = ContextVar("request_id", default="")
message_ids_var: ContextVar[str] = ContextVar("message_ids", default="")

SERVER_PROGRAMS = frozenset({"uvicorn", "gunicorn", "daphne", "hypercorn"})


def request_id_bind(request_id: str) -> None:
    """Bind the request id for the rest of the request. Left bound after the middleware returns
    so that Django's own line about the response (logged after the middleware chain) carries it
    too; `request_id_unbind` clears it when the response is closed."""
    request_id_var.set(request_id)


def request_id_unbind(**kwargs) -> None:
    request_id_var.set("")


@contextmanager
def request_context(request_id: str) -> Iterator[None]:
    token = request_id_var.set(request_id)
    try:
        yield
    finally:
        request_id_var.reset(token)


@contextmanager
def message_context(message_ids: Iterable[str | None]) -> Iterator[None]:
    """Bind the broker message ids being handled: one id, or the first of a batch and how many more."""
    ids = [str(each) for each in message_ids if each]
    label = ids[0] if len(ids) == 1 else f"{ids[0]}+{len(ids) - 1}" if ids else ""
    token = message_ids_var.set(label)
    try:
        yield
    finally:
        message_ids_var.reset(token)


class LogContextFilter(logging.Filter):
    """Adds `log_context` to every record: `req=<id>`, `msg=<id>` or `-`."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = request_id_var.get()
        message_ids = message_ids_var.get()
        if request_id:
            record.log_context = f"req={request_id}"
        elif message_ids:
            record.log_context = f"msg={message_ids}"
        else:
            record.log_context = "-"
        return True


def log_file_name_for(argv: list[str]) -> str:
    """The log file this process writes under LOG_DIR: `<command>.log` for a daemon,
    `server.log` for an ASGI/WSGI server, none ("") for anything else (migrate, shell, tests)."""
    if not argv:
        return ""
    program = Path(argv[0]).name
    if program == "manage.py" and len(argv) > 1 and argv[1] in daemon_names():
        return daemon_spec(argv[1]).log_file
    if program in SERVER_PROGRAMS or (program == "__main__.py" and Path(argv[0]).parent.name in SERVER_PROGRAMS):
        return "server.log"
    if program == "manage.py" and len(argv) > 1 and argv[1] == "runserver":
        return "server.log"
    return ""
