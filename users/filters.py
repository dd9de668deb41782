import django_filters
from django import forms
from rest_framework.exceptions import ValidationError
from rest_framework.filters import SearchFilter

from users.models import User


class StrictBooleanField(forms.Field):
    """A query-string boolean that rejects what it cannot read instead of ignoring the filter
    (django-filter's default treats `?is_active=maybe` as no filter and returns everyone)."""

    TRUE_VALUES = {"true", "1", "yes", "on"}
    FALSE_VALUES = {"false", "0", "no", "off"}

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in self.TRUE_VALUES:
            return True
        if text in self.FALSE_VALUES:
            return False
        raise forms.ValidationError("Enter true or false.", code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class BoundedSearchFilter(SearchFilter):
    """`?search=` with a length limit and errors that name the parameter. Each term becomes a LIKE
    per search field, and SQLite refuses patterns over 50,000 bytes: unbounded input was a 500."""

    max_length = 256

    def get_search_terms(self, request):
        value = request.query_params.get(self.search_param, "")
        if len(value) > self.max_length:
            raise ValidationError(
                {self.search_param: [f"Ensure this field has no more than {self.max_length} characters."]}
            )
        try:
            return super().get_search_terms(request)
        except ValidationError as exc:
            raise ValidationError({self.search_param: exc.detail}) from exc


class UserFilter(django_filters.FilterSet):
    is_active = StrictBooleanFilter()

    class Meta:
        model = User
        fields = ["user_type", "is_active", "session", "semester", "stream", "course"]
