"""Test settings: the production settings with a fixed secret, a fast hasher and in-memory mail."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789")
os.environ.setdefault("LOGIN_THROTTLE_RATE", "1000/min")
os.environ.setdefault("PASSWORD_RESET_THROTTLE_RATE", "1000/min")
os.environ.setdefault("PASSWORD_CHECK_THROTTLE_RATE", "1000/min")
# API hits written in the request, inside the test's transaction (a writer thread would hold a
# connection of its own, outside it)
os.environ.setdefault("API_HIT_LOG_WRITER", "inline")
# each test's /readyz sees its own database and broker, not a result an earlier test left
os.environ.setdefault("READINESS_CACHE_SECS", "0")
# one set of broker names per pytest-xdist worker (each has its own test database too), so workers
# running at once never consume each other's messages; tests that need a queue of their own make one
_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
os.environ.setdefault("USER_SYNC_EXCHANGE", f"test_drf_exchange_{_worker}")
os.environ.setdefault("USER_SYNC_QUEUES", f"test_drf_queue_{_worker}")

# a name of its own, as every deployment that consumes needs (the sync consumer refuses the default)
os.environ.setdefault("DEPLOYMENT_NAME", "test-deployment")

from .settings import *  # noqa: E402,F401,F403

# tests run over plain HTTP through the test client
SECURE_SSL_REDIRECT = False
# hashing cost is not what tests measure
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
