"""Soak: deployment A serves its API with uvicorn while client threads create and update users
without pause; two relays publish A's outbox and two consumers apply it to B, all through a TCP
proxy that cuts every broker connection every few seconds. Afterwards B holds exactly A's users,
every outbox row is published and every message was applied once.

SOAK_SECONDS sets the load phase: short in `make test`, minutes in `make soak`."""

import os
import random
import threading
import time
import uuid

import pytest

from pubsub.models import QueuePublishHistory
from tests.support.api_server import ApiClientThread, ApiServer
from tests.support.daemons import wait_until
from users.models import User

pytestmark = [pytest.mark.mariadb, pytest.mark.rabbitmq, pytest.mark.django_db(transaction=True)]

SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "20"))
CUT_EVERY_SECS = (2.0, 5.0)
API_CLIENTS = 3
RELAYS = 2
CONSUMERS = 2
DRAIN_TIMEOUT_SECS = 180
PASSWORD = "Soak-test-passw0rd!"
COMPARED = ("username", "email", "first_name", "last_name", "course", "password")


class BrokerCutter(threading.Thread):
    """Cuts every connection through the proxy at random intervals until stopped."""

    def __init__(self, proxy, seed: int):
        super().__init__(daemon=True, name="broker-cutter")
        self.proxy = proxy
        self.rng = random.Random(seed)
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.rng.uniform(*CUT_EVERY_SECS)):
            self.proxy.cut()


def mirrored_users(b, *, source: str) -> dict[str, tuple]:
    rows = b.query(
        f"SELECT {', '.join('u.' + field for field in COMPARED)} FROM users_user u "
        "JOIN users_synceduserlink l ON l.user_id = u.id WHERE l.source = %s",
        [source],
    )
    return {row["username"]: tuple(row[field] for field in COMPARED) for row in rows}


def test_soak_api_relays_and_consumers_under_broker_cuts(
    deployment_a, deployment_b, rabbit, broker_proxy, broker_tap, daemons, figures, tmp_path
):
    staff = User.objects.create_user(
        username=f"{deployment_a.name}-staff", password=PASSWORD, user_type=User.UserType.ADMIN
    )
    broker_url = broker_proxy.via(rabbit.url)
    # retries come back quickly: a cut fails the batch in flight, which is due again in about a second
    relay_env = deployment_a.env(RABBITMQ_URL=broker_url, OUTBOX_RETRY_BASE_SECS=0.5, OUTBOX_RETRY_MAX_SECS=5)
    relays = [daemons.start("producer_service", env=relay_env, label=f"relay{n}") for n in range(RELAYS)]
    consumers = [
        daemons.start("user_sync_consumer", env=deployment_b.env(RABBITMQ_URL=broker_url), label=f"consumer{n}")
        for n in range(CONSUMERS)
    ]
    workers = relays + consumers

    with ApiServer(env=deployment_a.env(API_HIT_LOG_WRITER="background"), log_path=tmp_path / "uvicorn.log") as api:
        access = api.login(staff.username, PASSWORD)
        clients = [
            ApiClientThread(api, access, prefix=f"{deployment_a.name}-c{n}", password=PASSWORD)
            for n in range(API_CLIENTS)
        ]
        cutter = BrokerCutter(broker_proxy, seed=len(deployment_a.name))
        started = time.monotonic()
        for thread in [cutter, *clients]:
            thread.start()
        time.sleep(SOAK_SECONDS)
        for client in clients:
            client.stopped.set()
        for client in clients:
            client.join(30)
        load_secs = time.monotonic() - started
        cutter.stopped.set()
        cutter.join(10)

    for daemon in workers:
        assert daemon.is_running(), f"{daemon.command} died during the soak:\n{daemon.output()[-5000:]}"
    failures = [failure for client in clients for failure in client.failures]
    assert not failures, f"{len(failures)} API requests failed, first: {failures[:3]}"

    outbox = QueuePublishHistory.objects.filter(queue_name=rabbit.route.queue)
    message_ids = set(outbox.values_list("message_id", flat=True))

    def unpublished() -> int:
        return outbox.exclude(status=QueuePublishHistory.Status.PUBLISHED).count()

    def applied() -> int:
        return deployment_b.scalar("SELECT COUNT(*) FROM users_usersyncinbox WHERE source = %s", [deployment_a.name])

    drain_started = time.monotonic()
    wait_until(
        lambda: unpublished() == 0 and applied() == len(message_ids),
        timeout=DRAIN_TIMEOUT_SECS,
        interval=0.5,
        watch=workers,
        message=lambda: f"{unpublished()} rows unpublished, {applied()}/{len(message_ids)} applied in B",
    )
    drain_secs = time.monotonic() - drain_started
    for daemon in workers:
        assert daemon.stop() == 0, daemon.output()[-5000:]

    requests = sum(client.requests for client in clients)
    figures("soak seconds (load phase)", round(load_secs, 1))
    figures("API requests (create + update), all answered 2xx", requests)
    figures("API requests per second", round(requests / load_secs, 1))
    figures("users created through the API", sum(client.created for client in clients))
    figures("outbox messages", len(message_ids))
    figures("broker connection cuts", broker_proxy.cuts)
    figures("deliveries to the consumers", broker_tap.total)
    figures("messages delivered more than once (absorbed by B's inbox)", broker_tap.delivered_more_than_once)
    figures("seconds to drain after the load stopped", round(drain_secs, 1))

    assert broker_proxy.cuts >= max(1, int(SOAK_SECONDS / CUT_EVERY_SECS[1])), "the broker was not cut"
    assert set(outbox.values_list("status", flat=True).distinct()) == {QueuePublishHistory.Status.PUBLISHED}
    inbox = deployment_b.query(
        "SELECT message_id, outcome FROM users_usersyncinbox WHERE source = %s", [deployment_a.name]
    )
    assert sorted(uuid.UUID(row["message_id"]) for row in inbox) == sorted(message_ids)
    conflicts = deployment_b.query(
        "SELECT reason, resolved FROM users_conflictingusersynclog WHERE source = %s", [deployment_a.name]
    )
    # an update that overtook its create waits as a conflict and is applied when the user arrives
    figures("updates that overtook their create (parked, then applied)", len(conflicts))
    still_open = [row for row in conflicts if not row["resolved"]]
    assert not still_open, f"{len(still_open)} open conflicts in B, e.g. {still_open[:5]}"
    assert {row["outcome"] for row in inbox} == {"applied"}
    in_a = {user[0]: tuple(user) for user in User.objects.values_list(*COMPARED)}
    assert mirrored_users(deployment_b, source=deployment_a.name) == in_a
