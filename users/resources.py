"""CSV/XLSX import of users (django-import-export): reading and validating a file as the API
validates a new user. Nothing is saved here: the admin's preview shows what this finds, and the
confirmed file is written by a background job (users.services.imports.user_import_job_run)."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from import_export import fields, resources
from import_export.formats.base_formats import CSV, XLSX

from users.models import ACADEMIC_FIELDS, NAME_FIELDS, PERSONAL_FIELDS, User

IMPORT_FORMATS = [CSV, XLSX]
IMPORT_FIELDS = (
    "username",
    "email",
    *NAME_FIELDS,
    "user_type",
    *PERSONAL_FIELDS,
    *ACADEMIC_FIELDS,
)
# privileges are granted only by superusers, so only their imports may carry them
PRIVILEGED_FIELDS = ("is_active", "is_staff", "is_superuser")
# likewise user_type admin (every right on the users API)
ADMIN_TYPE_SUPERUSERS_ONLY = "Only a superuser may import API administrators (user_type admin)."
USERNAME_TAKEN = User._meta.get_field("username").error_messages["unique"]
# usernames looked up per query when checking which already exist
USERNAME_LOOKUP_CHUNK = 1000


def import_format_for(*, extension: str):
    return next(fmt for fmt in IMPORT_FORMATS if fmt().get_extension() == extension)


def import_row_password(row) -> str:
    """The plaintext password of a file's row ("" for none): checked by the resource, hashed by the job."""
    return str(row.get("password") or "")


def _username_key(username: str) -> str:
    # MariaDB's utf8mb4_unicode_ci unique index (and Django's user-creation form) treat usernames
    # that differ only in case as the same one
    return username.casefold()


class UserImportResource(resources.ModelResource):
    """Creates users only: a username that exists, or repeats within the file, is an error.

    Each row is validated without touching the database: the usernames that already exist are
    read once per file, and passwords are checked but not hashed (the job hashes them).
    """

    # read from the file and validated; hashed only by the job, never stored as given
    password = fields.Field(attribute=None, column_name="password")
    # whether the rows may make API administrators (user_type admin)
    grants_privileges = False

    class Meta:
        model = User
        fields = IMPORT_FIELDS + ("password",)
        import_id_fields = ["username"]
        # create-only: never look existing rows up one by one (before_import reads them at once)
        force_init_instance = True
        skip_diff = True
        # no savepoint per row: nothing is saved row by row
        use_bulk = True
        # the job reads the validated instances from the result, and each one's password from its row
        store_instance = True
        store_row_values = True

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        self._usernames_seen: set[str] = set()
        usernames = [str(name).strip() for name in dataset["username"] if name] if "username" in dataset.headers else []
        self._usernames_taken = {
            _username_key(name)
            for start in range(0, len(usernames), USERNAME_LOOKUP_CHUNK)
            for name in User.objects.filter(username__in=usernames[start : start + USERNAME_LOOKUP_CHUNK]).values_list(
                "username", flat=True
            )
        }

    def import_instance(self, instance, row, **kwargs):
        super().import_instance(instance, row, **kwargs)
        plain = import_row_password(row)
        if plain:
            try:
                validate_password(plain, instance)
            except ValidationError as exc:
                raise ValidationError({"password": exc.messages}) from exc

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        try:
            # the password is checked above and hashed by the job; user_code is allocated then;
            # uniqueness is checked against the usernames read in before_import
            instance.full_clean(
                exclude=[*errors, "password", "user_code"], validate_unique=False, validate_constraints=False
            )
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if instance.user_type == User.UserType.ADMIN and not self.grants_privileges and "user_type" not in errors:
            errors["user_type"] = [ADMIN_TYPE_SUPERUSERS_ONLY]
        if instance.username and "username" not in errors:
            key = _username_key(instance.username)
            if key in self._usernames_taken or key in self._usernames_seen:
                errors["username"] = [USERNAME_TAKEN]
            self._usernames_seen.add(key)
        if errors:
            raise ValidationError(errors)

    def save_instance(self, instance, is_create, row, **kwargs):
        # validation only: the instance stays in the row result for the job to write
        self.before_save_instance(instance, row, **kwargs)

    def before_save_instance(self, instance, row, **kwargs):
        actor = kwargs.get("user")
        if actor is not None and actor.is_authenticated:
            instance.registered_by = instance.updated_by = actor


class SuperuserUserImportResource(UserImportResource):
    grants_privileges = True

    class Meta(UserImportResource.Meta):
        fields = IMPORT_FIELDS + PRIVILEGED_FIELDS + ("password",)


def user_import_resource_class_for(user) -> type[UserImportResource]:
    return SuperuserUserImportResource if user is not None and user.is_superuser else UserImportResource
