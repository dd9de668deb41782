"""One JSON error shape for the API, including errors raised by services and the database."""

import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, IntegrityError):
        # a concurrent request won a uniqueness race the validators could not see
        logger.warning("integrity error on %s: %s", context["request"].path, exc)
        return Response(
            {"detail": "The request conflicts with the current state of the resource."},
            status=status.HTTP_409_CONFLICT,
        )
    return exception_handler(exc, context)
