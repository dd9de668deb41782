from django.conf import settings
from django.core.management.base import BaseCommand

from users.services.dev import dev_superuser_ensure


class Command(BaseCommand):
    help = "With DEBUG on and no superuser yet, create the development superuser admin/admin."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            self.stdout.write("DEBUG is off: no development superuser is created.")
            return
        user = dev_superuser_ensure()
        if user is None:
            self.stdout.write("A superuser exists already: the development superuser is not created.")
            return
        banner = "!" * 78
        self.stdout.write(
            self.style.WARNING(
                f"{banner}\n  DEVELOPMENT SUPERUSER CREATED: username 'admin', password 'admin'.\n"
                f"  For local development only. Never run with DEBUG on in production.\n{banner}"
            )
        )
