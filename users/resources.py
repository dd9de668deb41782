"""CSV/XLSX import of users (django-import-export), validated as the API validates a new user."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from import_export import fields, resources

from users.models import User

IMPORT_FIELDS = (
    "username", "email", "first_name", "middle_name", "last_name", "user_type", "gender", "phone_no",
    "dob", "nationality", "address", "session", "semester", "stream", "course",
)
# privileges are granted only by superusers, so only their imports may carry them
PRIVILEGED_FIELDS = ("is_active", "is_staff", "is_superuser")


class UserImportResource(resources.ModelResource):
    """Creates users only (an existing username is an error, as in the API). Each user is saved
    once through User.save(), so its post_save signal writes exactly one outbox message."""

    # read from the file, validated, then hashed: never stored as given
    password = fields.Field(attribute=None, column_name="password")

    class Meta:
        model = User
        fields = IMPORT_FIELDS + ("password",)
        import_id_fields = ["username"]
        # create-only: never look existing rows up (validate_unique reports the username taken)
        force_init_instance = True
        use_transactions = True
        skip_diff = True
        # one save per row: bulk_create would bypass User.save (user_code, outbox message)
        use_bulk = False

    def import_instance(self, instance, row, **kwargs):
        super().import_instance(instance, row, **kwargs)
        plain = str(row.get("password") or "")
        if plain:
            try:
                validate_password(plain, instance)
            except ValidationError as exc:
                raise ValidationError({"password": exc.messages}) from exc
        instance._import_password = plain

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        try:
            # the password is checked above and set (hashed) at save; user_code is allocated then
            instance.full_clean(exclude=[*errors, "password", "user_code"], validate_unique=validate_unique)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def before_save_instance(self, instance, row, **kwargs):
        plain = getattr(instance, "_import_password", "")
        if kwargs.get("dry_run") or not plain:
            # the preview is rolled back: no need to pay for hashing
            instance.set_unusable_password()
        else:
            instance.set_password(plain)
        actor = kwargs.get("user")
        if actor is not None and actor.is_authenticated:
            instance.registered_by = instance.updated_by = actor


class SuperuserUserImportResource(UserImportResource):
    class Meta(UserImportResource.Meta):
        fields = IMPORT_FIELDS + PRIVILEGED_FIELDS + ("password",)
