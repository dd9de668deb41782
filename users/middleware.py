"""Request ids and API-hit logging. Both run sync or async (no thread hop under ASGI), and
neither touches the database on the event loop."""

import logging
import time

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.core.signals import request_finished
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from common.logcontext import request_id_bind, request_id_unbind
from users import api_hits

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"

request_finished.connect(request_id_unbind, dispatch_uid="request_id_unbind")


class HybridMiddleware:
    """Runs in whichever mode the handler below it has."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self.__acall__(request)
        return self.handle(request)


class RequestIdMiddleware(HybridMiddleware):
    """Gives each request an id (the caller's X-Request-ID when it is sane, else a new one),
    binds it to every log line of the request and echoes it in the response."""

    def handle(self, request):
        request.request_id = api_hits.request_id_from_header(request.META.get("HTTP_X_REQUEST_ID"))
        request_id_bind(request.request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request.request_id
        return response

    async def __acall__(self, request):
        request.request_id = api_hits.request_id_from_header(request.META.get("HTTP_X_REQUEST_ID"))
        request_id_bind(request.request_id)
        response = await self.get_response(request)
        response[REQUEST_ID_HEADER] = request.request_id
        return response


class ApiHitLogMiddleware(HybridMiddleware):
    """Records every request under API_HIT_LOG_PREFIXES (see users.api_hits). Recording never
    fails the request."""

    def __init__(self, get_response):
        if not settings.API_HIT_LOG_ENABLED:
            raise MiddlewareNotUsed
        super().__init__(get_response)
        api_hits.server_internal_ip()

    def handle(self, request):
        if not api_hits.api_hit_is_logged(path=request.path_info):
            return self.get_response(request)
        started_at, started = timezone.now(), time.perf_counter()
        response = self.get_response(request)
        duration_ms = (time.perf_counter() - started) * 1000
        try:
            hit = api_hits.api_hit_capture(
                request=request,
                status_code=response.status_code,
                started_at=started_at,
                duration_ms=duration_ms,
                user=getattr(request, "user", None),
            )
            api_hits.api_hit_record(hit=hit)
        except Exception:
            logger.exception("API hit not recorded")
        return response

    async def __acall__(self, request):
        if not api_hits.api_hit_is_logged(path=request.path_info):
            return await self.get_response(request)
        started_at, started = timezone.now(), time.perf_counter()
        response = await self.get_response(request)
        duration_ms = (time.perf_counter() - started) * 1000
        try:
            user = getattr(request, "user", None)
            # still the session middleware's lazy object (the view never authenticated):
            # evaluating it here could query the session store on the event loop
            if type(user) is SimpleLazyObject:
                user = await request.auser()
            hit = api_hits.api_hit_capture(
                request=request,
                status_code=response.status_code,
                started_at=started_at,
                duration_ms=duration_ms,
                user=user,
            )
            await api_hits.api_hit_arecord(hit=hit)
        except Exception:
            logger.exception("API hit not recorded")
        return response
