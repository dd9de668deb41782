"""CACHE_URL=redis://… gives every web process one set of throttle counters (deploy/env.example)."""

import socket
import uuid

import environ
import pytest
from django.core.cache.backends.redis import RedisCache

from tests.support.services import service_missing

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def redis_location() -> str:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=2).close()
    except OSError:
        service_missing("needs Redis on 127.0.0.1:6379")
    return environ.Env.cache_url_config(REDIS_URL)["LOCATION"]


def test_a_redis_cache_url_selects_djangos_redis_backend():
    assert environ.Env.cache_url_config(REDIS_URL)["BACKEND"] == "django.core.cache.backends.redis.RedisCache"


def test_two_processes_share_a_counter_through_the_redis_cache(redis_location):
    key = f"throttle_login_{uuid.uuid4().hex}"
    one_process, another_process = RedisCache(redis_location, {}), RedisCache(redis_location, {})

    one_process.set(key, [1, 2, 3], timeout=30)

    assert another_process.get(key) == [1, 2, 3]
    one_process.delete(key)
