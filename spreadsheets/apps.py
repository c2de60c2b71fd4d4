from django.apps import AppConfig


class SpreadsheetsConfig(AppConfig):
    """CSV import and export of customers and interactions (issue 15).

    Sits above interactions (it calls crm's and the sync engine's services)."""

    name = "spreadsheets"
    verbose_name = "CSV import and export"
