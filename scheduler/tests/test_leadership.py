"""The scheduler lease: one holder at a time, on the database's clock."""

from datetime import timedelta

import pytest
from django.utils import timezone

from scheduler.leadership import (
    LEASE_NAME,
    LeaseKeeper,
    scheduler_leader,
    scheduler_lease_acquire,
    scheduler_lease_release,
)
from scheduler.models import SchedulerLease

pytestmark = pytest.mark.django_db


def acquire(holder: str, *, lease_secs: float = 30) -> bool:
    return scheduler_lease_acquire(holder=holder, host=f"host-{holder}", pid=1, lease_secs=lease_secs)


def expire_the_lease():
    SchedulerLease.objects.filter(name=LEASE_NAME).update(expires_at=timezone.now() - timedelta(seconds=1))


def test_the_first_scheduler_takes_the_free_lease():
    assert acquire("a")
    assert scheduler_leader().holder == "a"


def test_another_scheduler_cannot_take_a_lease_that_holds():
    acquire("a")

    assert not acquire("b")
    assert scheduler_leader().holder == "a"


def test_the_holder_renews_its_lease():
    acquire("a")

    assert acquire("a")


def test_another_scheduler_takes_over_an_expired_lease():
    acquire("a")
    expire_the_lease()

    assert acquire("b")
    assert (scheduler_leader().holder, scheduler_leader().host) == ("b", "host-b")
    assert not acquire("a"), "the old leader must not get it back while b holds it"


def test_a_released_lease_is_free_at_once():
    acquire("a")

    assert scheduler_lease_release(holder="a")
    assert scheduler_leader() is None
    assert acquire("b")


def test_only_the_holder_can_release_the_lease():
    acquire("a")

    assert not scheduler_lease_release(holder="b")
    assert scheduler_leader().holder == "a"


def test_nobody_leads_once_the_lease_expired():
    acquire("a")
    expire_the_lease()

    assert scheduler_leader() is None


def test_a_keeper_leads_only_after_its_lease_was_granted():
    acquire("a")
    keeper = LeaseKeeper(holder="b", host="h", pid=2, lease_secs=30)

    assert not keeper.try_once()
    assert not keeper.leading()
    expire_the_lease()
    assert keeper.try_once()
    assert keeper.leading()
    assert keeper.terms == 1
