import factory

from users.models import User

DEFAULT_PASSWORD = "Tr1cky-Lantern-Orbit"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n:04d}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    user_type = User.UserType.STUDENT
    password = factory.django.Password(DEFAULT_PASSWORD)


class StaffUserFactory(UserFactory):
    is_staff = True


class AdminTypeUserFactory(UserFactory):
    user_type = User.UserType.ADMIN


class SuperuserFactory(UserFactory):
    user_type = User.UserType.ADMIN
    is_staff = True
    is_superuser = True


class UserManagerFactory(StaffUserFactory):
    """A staff member who manages users: the users model permissions the API asks staff for."""

    @factory.post_generation
    def user_permissions(self, create, extracted, **kwargs):
        if not create:
            return
        from django.contrib.auth.models import Permission

        self.user_permissions.add(
            *Permission.objects.filter(
                content_type__app_label="users",
                codename__in=["view_user", "add_user", "change_user", "delete_user"],
            )
        )
