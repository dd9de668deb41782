"""ASGI lifespan around Django, which itself answers only HTTP and WebSocket scopes.

uvicorn sends `lifespan.shutdown` during a graceful stop (SIGTERM/SIGINT, in each --workers child),
after the last request and before the process exits. That is where a process writes out what it
still holds in memory: atexit is too late, since uvicorn re-raises SIGTERM after its shutdown and
the process dies of the signal without running atexit handlers.
"""

import logging
from collections.abc import Callable

from asgiref.sync import sync_to_async

logger = logging.getLogger(__name__)


class LifespanApplication:
    def __init__(self, app, *, on_shutdown: list[Callable[[], None]]):
        self.app = app
        self.on_shutdown = on_shutdown

    async def __call__(self, scope, receive, send):
        if scope["type"] != "lifespan":
            return await self.app(scope, receive, send)
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for hook in self.on_shutdown:
                    try:
                        # blocking work (database writes), off the event loop
                        await sync_to_async(hook, thread_sensitive=False)()
                    except Exception:
                        logger.exception("shutdown hook %s failed", getattr(hook, "__qualname__", hook))
                await send({"type": "lifespan.shutdown.complete"})
                return
