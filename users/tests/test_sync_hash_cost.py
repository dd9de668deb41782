"""A synced password hash may cost at most 4x this deployment's own hasher of its algorithm, in
each cost parameter and in its whole work: PBKDF2 iterations, scrypt N, r, p (and the memory
hashlib may use), argon2 time, memory and parallelism, bcrypt rounds (log2: at most 2 more).
Costlier hashes are conflicts with a reason saying which parameter, on both apply paths."""

import sys
import types

import pytest

from users.models import ConflictingUserSyncLog, User
from users.tests.sync_messages import APPLY_PATHS, remote_message

pytestmark = pytest.mark.django_db

# this deployment's defaults (Django's): PBKDF2 1,000,000 iterations; scrypt N=2**14, r=8, p=5;
# argon2 t=2, m=102400, p=8; bcrypt 12 rounds. MD5 first: the tests' own hasher stays the default.
HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.BCryptPasswordHasher",
]
BCRYPT_TAIL = "N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"  # 22 of salt, 31 of hash

WITHIN = {
    "pbkdf2": "pbkdf2_sha256$4000000$salt$aGFzaA==",
    "pbkdf2_sha1": "pbkdf2_sha1$4000000$salt$aGFzaA==",
    "scrypt": "scrypt$16384$salt$8$20$aGFzaA==",
    "argon2": "argon2$argon2id$v=19$m=409600,t=2,p=32$c2FsdA$aGFzaA",
    "bcrypt_sha256": f"bcrypt_sha256$$2b$14${BCRYPT_TAIL}",
    "bcrypt": f"bcrypt$$2b$14${BCRYPT_TAIL}",
}
OVER = {
    "pbkdf2": ("pbkdf2_sha256$4000001$salt$aGFzaA==", "iterations 4000001 > 4000000"),
    "pbkdf2_sha1": ("pbkdf2_sha1$4000001$salt$aGFzaA==", "iterations 4000001 > 4000000"),
    "scrypt-parallelism": ("scrypt$65536$salt$2$60000$aGFzaA==", "parallelism 60000 > 20"),
    "scrypt-work-factor": ("scrypt$131072$salt$1$1$aGFzaA==", "work factor 131072 > 65536"),
    "scrypt-memory": ("scrypt$32768$salt$8$1$aGFzaA==", "memory 33557504 bytes > 33554432"),
    "argon2-time": ("argon2$argon2id$v=19$m=102400,t=9,p=8$c2FsdA$aGFzaA", "time cost 9 > 8"),
    "argon2-memory": ("argon2$argon2id$v=19$m=409601,t=1,p=8$c2FsdA$aGFzaA", "memory cost 409601 > 409600"),
    "argon2-parallelism": ("argon2$argon2i$m=102400,t=2,p=33$c2FsdA$aGFzaA", "parallelism 33 > 32"),
    "argon2-work": ("argon2$argon2id$v=19$m=409600,t=8,p=8$c2FsdA$aGFzaA", "time cost x memory cost"),
    "bcrypt_sha256": (f"bcrypt_sha256$$2b$15${BCRYPT_TAIL}", "rounds 15 > 14"),
    "bcrypt": (f"bcrypt$$2b$15${BCRYPT_TAIL}", "rounds 15 > 14"),
}


@pytest.fixture(autouse=True)
def _every_hasher_configured(settings):
    settings.PASSWORD_HASHERS = HASHERS


@pytest.fixture
def hasher_libraries(monkeypatch):
    """argon2-cffi and bcrypt are not installed here: stand-ins that only let Django's hashers
    load their library and decode a hash (the cost is read from the hash, not by them)."""
    argon2 = types.ModuleType("argon2")
    argon2.extract_parameters = lambda encoded: types.SimpleNamespace(
        time_cost=None,
        memory_cost=None,
        parallelism=None,
        version=None,
    )
    monkeypatch.setitem(sys.modules, "argon2", argon2)
    monkeypatch.setitem(sys.modules, "bcrypt", types.ModuleType("bcrypt"))


@APPLY_PATHS
@pytest.mark.parametrize("algorithm", WITHIN)
def test_a_hash_within_4x_of_ours_is_applied(apply, algorithm, hasher_libraries):
    assert apply(remote_message(password=WITHIN[algorithm])) == "applied"

    assert User.objects.get(username="remote.alice").password == WITHIN[algorithm]


@APPLY_PATHS
@pytest.mark.parametrize("case", OVER)
def test_a_hash_costlier_than_4x_of_ours_is_a_conflict_naming_the_parameter(apply, case, hasher_libraries):
    password, reason = OVER[case]

    assert apply(remote_message(password=password)) == "conflict"

    conflict = ConflictingUserSyncLog.objects.get()
    assert "password: costs more than 4x this deployment's hash: " in conflict.reason
    assert reason in conflict.reason
    assert not User.objects.filter(username="remote.alice").exists()


@APPLY_PATHS
def test_a_costly_hash_is_refused_on_an_update_too(apply):
    costly = OVER["scrypt-parallelism"][0]
    apply(remote_message(version=1))

    assert apply(remote_message(message_type="user.updated", version=2, password=costly)) == "conflict"

    assert User.objects.get(username="remote.alice").password != costly


@APPLY_PATHS
def test_the_refused_hash_is_kept_with_the_conflict_for_support(apply):
    apply(remote_message(password=OVER["scrypt-parallelism"][0]))

    assert OVER["scrypt-parallelism"][0] in ConflictingUserSyncLog.objects.get().raw_body


@APPLY_PATHS
@pytest.mark.parametrize("algorithm", ["argon2", "bcrypt_sha256"])
def test_a_hash_whose_library_is_not_installed_is_a_conflict(apply, algorithm):
    assert apply(remote_message(password=WITHIN[algorithm])) == "conflict"

    assert "library is not installed here" in ConflictingUserSyncLog.objects.get().reason


@APPLY_PATHS
def test_a_scrypt_hash_of_ours_logs_in(apply, settings):
    from django.contrib.auth.hashers import make_password

    settings.PASSWORD_HASHERS = HASHERS[3:4]
    apply(remote_message(password=make_password("Sent-From-North-9")))

    assert User.objects.get(username="remote.alice").check_password("Sent-From-North-9")


@APPLY_PATHS
@pytest.mark.parametrize(
    "password",
    [
        "scrypt$16385$salt$8$5$aGFzaA==",
        "scrypt$0$salt$8$5$aGFzaA==",
        "argon2$argon2id$v=19$m=x,t=2,p=8$c2FsdA$aGFzaA",
        "bcrypt_sha256$$2b$-1$" + BCRYPT_TAIL,
        "pbkdf2_sha256$1e9$salt$aGFzaA==",
    ],
)
def test_a_hash_whose_parameters_are_not_numbers_of_its_kind_is_no_hash(apply, password, hasher_libraries):
    assert apply(remote_message(password=password)) == "conflict"

    assert "password: is not a password hash this deployment knows" in ConflictingUserSyncLog.objects.get().reason
