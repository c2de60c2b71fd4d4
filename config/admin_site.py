"""The Django admin as Rapport's: its title, and the tables it must not let anyone edit.

Installed in place of ``django.contrib.admin`` (INSTALLED_APPS names
``RapportAdminConfig``), so ``admin.site`` is a ``RapportAdminSite`` and every
app's ``admin.py`` registers on it as usual. After the apps have registered,
``ready()`` makes django-celery-beat's tables read-only: the periodic tasks are
written from ``CELERY_BEAT_SCHEDULE`` by beat itself, and deleting or disabling
the sweep's row in the admin would stop every reminder and escalation.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig

from core.service_admin import ReadOnlyAdminMixin


class RapportAdminSite(admin.AdminSite):
    site_header = "Rapport"
    site_title = "Rapport admin"
    index_title = "Administration"


def _make_read_only(site: admin.AdminSite, model, **attributes) -> None:
    registered = site._registry.get(model)
    if registered is None:
        return
    read_only = type(
        f"ReadOnly{type(registered).__name__}",
        (ReadOnlyAdminMixin, type(registered)),
        attributes,
    )
    site.unregister(model)
    site.register(model, read_only)


def beat_admin_read_only(site: admin.AdminSite) -> None:
    from django_celery_beat.models import (
        ClockedSchedule,
        CrontabSchedule,
        IntervalSchedule,
        PeriodicTask,
        SolarSchedule,
    )

    shown = ["name", "task", "enabled", "interval", "crontab", "last_run_at", "total_run_count"]
    # The package's fieldsets name form-only fields; a read-only page shows model fields.
    _make_read_only(site, PeriodicTask, fieldsets=None, fields=shown, readonly_fields=shown)
    for model in (ClockedSchedule, CrontabSchedule, IntervalSchedule, SolarSchedule):
        _make_read_only(site, model)


class RapportAdminConfig(AdminConfig):
    default_site = "config.admin_site.RapportAdminSite"

    def ready(self) -> None:
        super().ready()  # autodiscovers every app's admin.py
        beat_admin_read_only(admin.site)
