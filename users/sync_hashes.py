"""How much a password hash from another deployment would cost here, against this deployment's own
hasher of the same algorithm (PASSWORD_HASHERS).

Whoever can put a message in the queue chooses the parameters of the hashes it carries, and every
login attempt against such a user pays them: `scrypt$65536$…$2$60000$…` alone is tens of
CPU-minutes. So each cost parameter may be at most HASH_COST_LIMIT_FACTOR times ours (bcrypt's
rounds, a log2, at most log2 of it more), and so may the work of the whole hash (iterations;
scrypt N·r·p; argon2 time × memory). A newer Django raising its defaults stays well within.
A scrypt hash must also fit in the memory hashlib may use, else every login fails. The parameters
are read from the hash itself, so the limit holds whether or not the hasher's library is installed.
"""

import math
import re

from django.contrib.auth.hashers import (
    Argon2PasswordHasher,
    BCryptSHA256PasswordHasher,
    PBKDF2PasswordHasher,
    ScryptPasswordHasher,
)

HASH_COST_LIMIT_FACTOR = 4
# what hashlib.scrypt may allocate when asked for no maxmem (Django's default): OpenSSL's limit
OPENSSL_SCRYPT_MAX_MEM = 32 * 1024 * 1024

_ARGON2_PARAMETERS = re.compile(r"^(?:v=\d+\$)?m=(\d+),t=(\d+),p=(\d+)\$")


class UnreadableHash(ValueError):
    """The hash names an algorithm of ours but its parameters can't be read."""


def _positive(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise UnreadableHash(f"{text[:20]!r} is not a positive whole number")
    return int(text)


def _over(parameters: dict[str, tuple[int, int]], work: tuple[str, int, int] | None = None) -> str:
    """The first of {name: (theirs, ours)}, then the (name, theirs, ours) of the whole work, over
    the limit, as text; "" when none is."""
    checked = [(name, theirs, ours) for name, (theirs, ours) in parameters.items()] + ([work] if work else [])
    for name, theirs, ours in checked:
        if theirs > HASH_COST_LIMIT_FACTOR * ours:
            return f"{name} {theirs} > {HASH_COST_LIMIT_FACTOR * ours}"
    return ""


def hash_cost_problem(*, hasher, encoded: str) -> str:
    """What makes `encoded` cost more than HASH_COST_LIMIT_FACTOR times `hasher` (this
    deployment's, as configured), "" when nothing does or the algorithm has no cost parameter.
    Raises UnreadableHash when the parameters are not those of a usable hash."""
    parts = encoded.split("$")
    if isinstance(hasher, PBKDF2PasswordHasher):  # and PBKDF2-SHA1
        if len(parts) != 4:
            raise UnreadableHash("a PBKDF2 hash has 4 parts")
        return _over({"iterations": (_positive(parts[1]), hasher.iterations)})
    if isinstance(hasher, ScryptPasswordHasher):
        if len(parts) != 6:
            raise UnreadableHash("a scrypt hash has 6 parts")
        n, r, p = _positive(parts[1]), _positive(parts[3]), _positive(parts[4])
        if n < 2 or n & (n - 1):
            raise UnreadableHash("scrypt's work factor must be a power of 2")
        ours = (hasher.work_factor, hasher.block_size, hasher.parallelism)
        memory, memory_limit = 128 * r * (n + 2 + p), hasher.maxmem or OPENSSL_SCRYPT_MAX_MEM
        if memory > memory_limit:
            # hashlib would refuse it at every login: a server error, not a wrong password
            return f"memory {memory} bytes > {memory_limit}, the most this deployment's scrypt may use"
        return _over(
            {"work factor": (n, ours[0]), "block size": (r, ours[1]), "parallelism": (p, ours[2])},
            work=("work factor x block size x parallelism", n * r * p, math.prod(ours)),
        )
    if isinstance(hasher, Argon2PasswordHasher):
        # argon2$argon2id$v=19$m=102400,t=2,p=8$salt$hash (older ones without v=)
        match = _ARGON2_PARAMETERS.match(encoded.split("$", 2)[2] if len(parts) > 2 else "")
        if match is None:
            raise UnreadableHash("no argon2 parameters")
        m, t, p = (_positive(group) for group in match.groups())
        return _over(
            {
                "time cost": (t, hasher.time_cost),
                "memory cost": (m, hasher.memory_cost),
                "parallelism": (p, hasher.parallelism),
            },
            work=("time cost x memory cost", t * m, hasher.time_cost * hasher.memory_cost),
        )
    if isinstance(hasher, BCryptSHA256PasswordHasher):  # and plain bcrypt
        # bcrypt_sha256$$2b$12$<salt and hash>: rounds are a log2, so 4x the work is 2 more
        if len(parts) != 5:
            raise UnreadableHash("a bcrypt hash has 5 parts")
        rounds, limit = _positive(parts[3]), hasher.rounds + int(math.log2(HASH_COST_LIMIT_FACTOR))
        return f"rounds {rounds} > {limit}" if rounds > limit else ""
    return ""
