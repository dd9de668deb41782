"""The ASGI application answers uvicorn's lifespan and flushes the API-hit queue at shutdown."""

from asgiref.sync import async_to_sync

from project.asgi import application
from project.lifespan import LifespanApplication


def run_lifespan(app) -> list[str]:
    incoming = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent = []

    async def receive():
        return next(incoming)

    async def send(message):
        sent.append(message["type"])

    async_to_sync(app)({"type": "lifespan"}, receive, send)
    return sent


def test_startup_and_shutdown_are_acknowledged():
    assert run_lifespan(LifespanApplication(None, on_shutdown=[])) == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]


def test_shutdown_runs_the_hooks():
    calls = []

    run_lifespan(LifespanApplication(None, on_shutdown=[lambda: calls.append("flushed")]))

    assert calls == ["flushed"]


def test_a_failing_hook_still_completes_the_shutdown():
    def broken():
        raise RuntimeError("boom")

    assert run_lifespan(LifespanApplication(None, on_shutdown=[broken]))[-1] == "lifespan.shutdown.complete"


def test_the_project_application_stops_the_api_hit_writer_at_shutdown():
    from users.api_hits import api_hit_writer_stop

    assert application.on_shutdown == [api_hit_writer_stop]
