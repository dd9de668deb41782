"""Error pages for DEBUG off: JSON under /api/ (what API clients parse), a plain page elsewhere.
Neither says more than the status: no exception text, no traceback, no library versions."""

from django.http import JsonResponse
from django.views import defaults

API_PREFIX = "/api/"

MESSAGES = {
    400: "Bad request.",
    403: "You do not have permission to perform this action.",
    404: "Not found.",
    500: "Internal server error. The error has been logged.",
}


def _wants_json(request) -> bool:
    return request.path.startswith(API_PREFIX)


def _json(status: int) -> JsonResponse:
    return JsonResponse({"detail": MESSAGES[status]}, status=status)


def bad_request(request, exception, template_name=defaults.ERROR_400_TEMPLATE_NAME):
    if _wants_json(request):
        return _json(400)
    return defaults.bad_request(request, exception, template_name)


def permission_denied(request, exception, template_name=defaults.ERROR_403_TEMPLATE_NAME):
    if _wants_json(request):
        return _json(403)
    return defaults.permission_denied(request, exception, template_name)


def page_not_found(request, exception, template_name=defaults.ERROR_404_TEMPLATE_NAME):
    if _wants_json(request):
        return _json(404)
    return defaults.page_not_found(request, exception, template_name)


def server_error(request, template_name=defaults.ERROR_500_TEMPLATE_NAME):
    if _wants_json(request):
        return _json(500)
    return defaults.server_error(request, template_name)
