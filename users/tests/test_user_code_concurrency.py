import threading

import pytest
from django.db import connection

from users.models import User, UserCodeSequence
from users.services.users import user_create

THREADS = 8
USERS_PER_THREAD = 5


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_concurrent_creation_allocates_distinct_consecutive_user_codes():
    # migration 0002 seeds this row; a transactional test's flush before this one may have removed it
    UserCodeSequence.objects.get_or_create(prefix="UC")
    start = UserCodeSequence.objects.get(prefix="UC").last_value
    barrier = threading.Barrier(THREADS)
    errors = []

    def create_users(thread_no):
        try:
            barrier.wait()
            for n in range(USERS_PER_THREAD):
                user_create(data={"username": f"concurrent-{thread_no}-{n}"})
        except Exception as exc:  # collected so the assertion below reports it
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create_users, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    codes = list(User.objects.filter(username__startswith="concurrent-").values_list("user_code", flat=True))
    expected = {f"UC{value:04d}" for value in range(start + 1, start + 1 + THREADS * USERS_PER_THREAD)}
    assert len(codes) == THREADS * USERS_PER_THREAD
    assert set(codes) == expected
