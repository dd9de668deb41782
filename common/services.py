"""Services every app uses on its own models."""

from collections.abc import Iterable
from typing import Any, TypeVar

from django.db import models

ModelType = TypeVar("ModelType", bound=models.Model)


def model_update(
    *,
    instance: ModelType,
    fields: Iterable[str],
    data: dict[str, Any],
    on_change: dict[str, Any] | None = None,
    clean_exclude: Iterable[str] = (),
) -> tuple[ModelType, bool]:
    """Set the values `data` holds for `fields` on `instance`, validate it, and save only the
    fields whose value changed, with the model's auto_now fields, as HackSoft's styleguide does.
    Nothing changed: nothing is saved (no signal, no audit entry, no message to other deployments).

    Values are compared after validation, which may normalise them (an e-mail's domain), so a
    value that only looks different is no change. `on_change` holds values written along with a
    change and never one by themselves (who made it). Returns the instance and whether it was saved.
    """
    opts = instance._meta
    attnames = {name: opts.get_field(name).attname for name in fields if name in data}
    before = {name: getattr(instance, attname) for name, attname in attnames.items()}
    for name in attnames:
        setattr(instance, name, data[name])
    instance.full_clean(exclude=list(clean_exclude))
    changed = [name for name, attname in attnames.items() if getattr(instance, attname) != before[name]]
    if not changed:
        return instance, False
    for name, value in (on_change or {}).items():
        setattr(instance, name, value)
    auto_now = [field.name for field in opts.concrete_fields if getattr(field, "auto_now", False)]
    instance.save(update_fields=list(dict.fromkeys([*changed, *(on_change or {}), *auto_now])))
    return instance, True
