from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "Customers"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from crm.search_setup import on_connection_created

        connection_created.connect(on_connection_created, dispatch_uid="crm-search-setup")
