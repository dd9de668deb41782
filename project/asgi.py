"""ASGI entry point: `uvicorn project.asgi:application`."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

django_application = get_asgi_application()

from project.lifespan import LifespanApplication  # noqa: E402 - after Django is set up
from users.api_hits import api_hit_writer_stop  # noqa: E402

application = LifespanApplication(django_application, on_shutdown=[api_hit_writer_stop])
