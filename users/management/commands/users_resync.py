import datetime

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from users.models import UserResyncJob
from users.services.resync import user_resync_job_run
from users.services.resync_jobs import user_resync_job_create

BAR_WIDTH = 30
Scope = UserResyncJob.Scope


def _since(value: str) -> datetime.datetime:
    moment = parse_datetime(value)
    if moment is None and (day := parse_date(value)) is not None:
        moment = datetime.datetime.combine(day, datetime.time.min)
    if moment is None:
        raise CommandError(f"--since {value!r} is not an ISO 8601 date or date-time (e.g. 2026-11-30)")
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def _range(value: str) -> list[int]:
    first, _, last = value.partition("-")
    try:
        return [int(first), int(last or first)]
    except ValueError:
        raise CommandError(f"--ranges {value!r} is not FIRST-LAST (user ids, e.g. 1-1000)") from None


class Command(BaseCommand):
    help = (
        "Enqueue a user.snapshot message for each user in scope through the outbox (a resync), in the "
        "foreground, with a progress bar; exits once every snapshot is in the outbox. The same job as "
        "the admin's, resumable with --resume after an interruption."
    )

    def add_arguments(self, parser):
        parser.add_argument("--queue", help="the receiving deployment's queue (one of USER_SYNC_QUEUES)")
        scope = parser.add_mutually_exclusive_group(required=True)
        scope.add_argument("--all", action="store_true", help="every user")
        scope.add_argument("--since", help="the users changed since this date (ISO 8601)")
        scope.add_argument("--ids", nargs="+", type=int, metavar="ID", help="these users")
        scope.add_argument("--ranges", nargs="+", metavar="FIRST-LAST", help="the users whose id is in these ranges")
        scope.add_argument("--resume", type=int, metavar="JOB", help="go on with an interrupted or failed job")

    def handle(self, *args, queue=None, all=False, since=None, ids=None, ranges=None, resume=None, **options):
        if resume is not None:
            job = UserResyncJob.objects.filter(pk=resume).first()
            if job is None or job.status not in (UserResyncJob.Status.RUNNING, UserResyncJob.Status.FAILED):
                raise CommandError(f"no interrupted or failed resync job #{resume}")
            UserResyncJob.objects.filter(pk=job.pk).update(status=UserResyncJob.Status.RUNNING)
        else:
            if not queue:
                raise CommandError("--queue is required: the receiving deployment's queue")
            try:
                job = user_resync_job_create(
                    queue=queue,
                    scope=Scope.ALL if all else Scope.SINCE if since else Scope.IDS if ids else Scope.RANGES,
                    since=_since(since) if since else None,
                    ids=ids or (),
                    ranges=[_range(value) for value in ranges or ()],
                    background=False,
                )
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(f"resync #{job.pk} to {job.queue}: {job.total} users")
        job_id = job.pk
        job = user_resync_job_run(job_id=job_id, on_progress=self._progress)
        self.stdout.write("")
        if job is None or job.status != UserResyncJob.Status.DONE:
            ended = f"{job.status} {job.error}" if job else "already taken by another run"
            raise CommandError(f"resync #{job_id} ended {ended} (go on with --resume {job_id})")
        self.stdout.write(f"resync #{job.pk} done: {job.enqueued} snapshots in the outbox")

    def _progress(self, job: UserResyncJob) -> None:
        share = job.enqueued / job.total if job.total else 1.0
        filled = int(min(share, 1.0) * BAR_WIDTH)
        self.stdout.write(f"\r[{'#' * filled}{' ' * (BAR_WIDTH - filled)}] {job.enqueued}/{job.total}", ending="")
        self.stdout.flush()
