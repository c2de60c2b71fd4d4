from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "API clients and audit"

    def ready(self) -> None:
        from django.contrib.auth import signals

        from core import audit

        # Logins are framework events: the audit trail hears them via Django's signals.
        signals.user_logged_in.connect(audit.on_user_logged_in, dispatch_uid="crm-audit-login")
        signals.user_logged_out.connect(audit.on_user_logged_out, dispatch_uid="crm-audit-logout")
        signals.user_login_failed.connect(
            audit.on_user_login_failed, dispatch_uid="crm-audit-login-failed"
        )
