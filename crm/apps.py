from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "Customers"

    def ready(self) -> None:
        from django.contrib.auth import signals
        from django.db.backends.signals import connection_created

        from crm.search_setup import on_connection_created

        connection_created.connect(on_connection_created, dispatch_uid="crm-search-setup")

        from crm import audit

        # Logins are framework events: the audit trail hears them via Django's signals.
        signals.user_logged_in.connect(audit.on_user_logged_in, dispatch_uid="crm-audit-login")
        signals.user_logged_out.connect(audit.on_user_logged_out, dispatch_uid="crm-audit-logout")
        signals.user_login_failed.connect(
            audit.on_user_login_failed, dispatch_uid="crm-audit-login-failed"
        )
