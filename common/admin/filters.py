"""A yes/no changelist filter; subclasses say what "yes" means."""

from django.contrib import admin


class YesNoFilter(admin.SimpleListFilter):
    """Subclasses set `title` and `parameter_name` and implement `filter_for(queryset, yes)`."""

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return self.filter_for(queryset, self.value() == "yes")
        return queryset

    def filter_for(self, queryset, yes: bool):
        raise NotImplementedError
