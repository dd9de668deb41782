import django_filters

from users.models import User


class UserFilter(django_filters.FilterSet):
    class Meta:
        model = User
        fields = ["user_type", "is_active", "session", "semester", "stream", "course"]
