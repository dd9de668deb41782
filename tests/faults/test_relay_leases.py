"""Leases are for relays that died. A relay that is alive and merely lost its database connection
for a moment must not leave rows waiting for their lease (60 s in production) to run out; a relay
whose broker is slow keeps its leases by renewing them; and no relay's clock decides a lease: the
database's does."""

import re
import time
from datetime import UTC, timedelta
from functools import partial

import pytest
from django.db import connection
from django.db.models import Max
from pamqp.commands import Basic

from pubsub.models import QueuePublishHistory, WorkerHeartbeat
from tests.support.daemons import wait_until
from tests.support.deployments import MYSQL_COMMIT
from tests.support.faketime import faketime_env, wall_clock_offset_secs
from tests.support.outbox import outbox_leased_by, outbox_progress, outbox_published, outbox_seed
from tests.support.queues import queue_audit
from tests.support.tcp_proxy import DOWNSTREAM, UPSTREAM

pytestmark = [pytest.mark.mariadb, pytest.mark.rabbitmq, pytest.mark.serial, pytest.mark.django_db(transaction=True)]

ROWS = 3000
# the relay's only COMMITs are its claims' (its other writes autocommit): the 9th claim, after 400
# rows in batches of 50, is cut, armed before the relay starts so it lands whatever the speed
CUT_AT_COMMIT = 9
PRODUCTION_LEASE_SECS = 60
# a reconnect takes well under a second after a short outage; a lease wait takes a minute
RESUME_WITHIN_SECS = 30


def test_relay_resumes_promptly_when_its_connection_drops_as_a_claim_commits(
    deployment_a, rabbit, relay_env, database_proxy, daemons, figures
):
    """The claim's COMMIT reaches MariaDB and takes effect, but the answer never reaches the relay:
    it gets "Lost connection" and does not know it holds the batch; it is the only one that could."""
    expected = outbox_seed(route=rabbit.route, count=ROWS)
    fired = database_proxy.cut_after(UPSTREAM, MYSQL_COMMIT, nth=CUT_AT_COMMIT)
    relay = daemons.start(
        "producer_service",
        env=relay_env(
            DATABASE_URL=database_proxy.via(deployment_a.database_url), OUTBOX_LEASE_SECS=PRODUCTION_LEASE_SECS
        ),
    )
    wait_until(fired.is_set, timeout=30, watch=[relay], message="the relay's claim cut as it commits")
    cut_at = time.monotonic()
    try:
        wait_until(
            lambda: outbox_published(route=rabbit.route) == ROWS,
            timeout=RESUME_WITHIN_SECS,
            watch=[relay],
            message=lambda: (
                f"every row published within {RESUME_WITHIN_SECS}s of the cut (the lease is "
                f"{PRODUCTION_LEASE_SECS} s): {outbox_progress(route=rabbit.route)}, of which leased to "
                f"the live relay: {outbox_leased_by(route=rabbit.route, pid=relay.pid)}"
            ),
        )
    finally:
        figures("seconds from the cut until every row was published", round(time.monotonic() - cut_at, 1))
    assert relay.stop() == 0, relay.output()
    missing, duplicates = queue_audit(rabbit.url, rabbit.route.queue, expected)
    figures("duplicates in the queue", duplicates)
    assert not missing, f"{len(missing)} of {ROWS} rows never reached the queue"


# -- leases that hold: a relay whose batch is held past its lease, or whose clock is wrong --------

HELD_ROWS = 2000
# the broker's answers to the held relay stop from this publish on (batches of 50)
HOLD_FROM_PUBLISH = 120
CLOCK_OFFSET = "10m"  # 600 s


def database_now():
    with connection.cursor() as cursor:
        cursor.execute("SELECT UTC_TIMESTAMP(6)")
        return cursor.fetchone()[0].replace(tzinfo=UTC)


def published_by(relay) -> int:
    return int(re.search(r"producer_service: published (\d+), failed 0", relay.output()).group(1))


def held_past_its_lease(*, rabbit, broker_proxy, broker_tap, daemons, figures, held_env, other_env):
    """One relay publishes through the proxy, which holds the broker's answers to it from a given
    publish on: its messages are in the broker, its confirms are not, its rows stay leased. A
    second relay drains the rest of the outbox. The hold lasts until the leases the held relay had
    when the rest was done have run out on the database's clock: only their renewal keeps the other
    relay off them. Then the answers flow. Every row must be published once, marked once."""
    expected = outbox_seed(route=rabbit.route, count=HELD_ROWS)
    held_at = broker_tap.freeze_after(UPSTREAM, Basic.Publish, at=HOLD_FROM_PUBLISH, hold=DOWNSTREAM)
    held = daemons.start("producer_service", env=held_env(RABBITMQ_URL=broker_proxy.via(rabbit.url)), label="held")
    wait_until(held_at.is_set, timeout=30, watch=[held], message=f"publish {HOLD_FROM_PUBLISH} of the held relay")
    other = daemons.start("producer_service", env=other_env(), label="other")

    def leased_by_held() -> int:
        return outbox_leased_by(route=rabbit.route, pid=held.pid)

    wait_until(
        lambda: outbox_published(route=rabbit.route) + leased_by_held() == HELD_ROWS,
        timeout=60,
        watch=[held, other],
        message=lambda: (
            f"the rest published by the other relay ({outbox_progress(route=rabbit.route)}, "
            f"leased by the held one: {leased_by_held()})"
        ),
    )
    leased = QueuePublishHistory.objects.filter(queue_name=rabbit.route.queue, claimed_by__endswith=f":{held.pid}")
    rows_held = leased.count()
    assert rows_held > 0, "the held relay holds no rows: the other relay took them, or it never claimed"
    lease_end = leased.aggregate(Max("claimed_until"))["claimed_until__max"]
    wait_until(
        lambda: database_now() > lease_end + timedelta(seconds=1),
        timeout=30,
        watch=[held, other],
        message="the held relay's leases of then running out on the database's clock",
    )
    still_held = leased_by_held()
    renewed = leased.filter(claimed_until__gt=lease_end).count()
    broker_proxy.thaw()

    wait_until(
        lambda: outbox_published(route=rabbit.route) == HELD_ROWS,
        timeout=60,
        watch=[held, other],
        message=lambda: f"every row published ({outbox_progress(route=rabbit.route)})",
    )
    for relay in (held, other):
        assert relay.stop() == 0, relay.output()
    missing, duplicates = queue_audit(rabbit.url, rabbit.route.queue, expected)
    attempts = set(QueuePublishHistory.objects.filter(queue_name=rabbit.route.queue).values_list("attempts", flat=True))
    shares = [published_by(relay) for relay in (held, other)]
    figures("rows the held relay held past their lease", rows_held)
    figures("rows published by the held and the other relay", shares)
    figures("duplicates in the queue", duplicates)
    assert still_held == rows_held, f"{rows_held - still_held} of {rows_held} held rows taken by the other relay"
    assert renewed == rows_held, f"only {renewed} of {rows_held} held rows had their lease renewed"
    assert not missing, f"{len(missing)} of {HELD_ROWS} rows never reached the queue"
    assert duplicates == 0
    assert attempts == {1}, f"attempts counted: {attempts}"
    assert sum(shares) == HELD_ROWS, "a row was marked published by both relays, or by none"
    return held, other


def assert_wall_clock_off(relay, *, by_secs: float) -> None:
    """The relay's heartbeat is stamped with its own clock: read it against the database's."""
    beat = WorkerHeartbeat.objects.get(name="producer_service", pid=relay.pid)
    offset = (beat.last_seen - database_now()).total_seconds()
    assert abs(offset - by_secs) < 60, f"the relay's clock was {offset:+.0f}s off, not {by_secs:+.0f}s"


def test_a_batch_held_past_its_lease_by_a_slow_broker_is_published_and_marked_once(
    rabbit, relay_env, broker_proxy, broker_tap, daemons, figures
):
    held_past_its_lease(
        rabbit=rabbit,
        broker_proxy=broker_proxy,
        broker_tap=broker_tap,
        daemons=daemons,
        figures=figures,
        held_env=relay_env,
        other_env=relay_env,
    )


def test_faketime_shifts_the_wall_clock_of_a_python_process():
    assert abs(wall_clock_offset_secs(faketime_env(f"+{CLOCK_OFFSET}")) - 600) < 30
    assert abs(wall_clock_offset_secs(faketime_env(f"-{CLOCK_OFFSET}")) + 600) < 30


@pytest.mark.parametrize("sign", ["+", "-"], ids=["ahead", "behind"])
def test_a_relay_whose_clock_is_off_takes_no_lease_of_a_correct_relay(
    sign, rabbit, relay_env, broker_proxy, broker_tap, daemons, figures
):
    """A relay 10 minutes ahead sees every lease of the others as run out; its own leases look
    run out to the others when it is 10 minutes behind. Neither matters on the database's clock."""
    skewed_env = partial(relay_env, **faketime_env(f"{sign}{CLOCK_OFFSET}"))
    _, skewed = held_past_its_lease(
        rabbit=rabbit,
        broker_proxy=broker_proxy,
        broker_tap=broker_tap,
        daemons=daemons,
        figures=figures,
        held_env=relay_env,
        other_env=skewed_env,
    )
    assert_wall_clock_off(skewed, by_secs=int(f"{sign}600"))


@pytest.mark.parametrize("sign", ["+", "-"], ids=["ahead", "behind"])
def test_a_correct_relay_takes_no_lease_of_a_relay_whose_clock_is_off(
    sign, rabbit, relay_env, broker_proxy, broker_tap, daemons, figures
):
    skewed_env = partial(relay_env, **faketime_env(f"{sign}{CLOCK_OFFSET}"))
    skewed, _ = held_past_its_lease(
        rabbit=rabbit,
        broker_proxy=broker_proxy,
        broker_tap=broker_tap,
        daemons=daemons,
        figures=figures,
        held_env=skewed_env,
        other_env=relay_env,
    )
    assert_wall_clock_off(skewed, by_secs=int(f"{sign}600"))
