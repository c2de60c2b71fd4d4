"""The customer list's orders read an index (issue 16: lists stay flat in table size).

GET /api/v1/customers/, the /customers/ page and the admin list customers by
name (the default) or newest first; without an index each page sorted every
customer (about 0.5 s at 500,000).

Built CONCURRENTLY (so the migration is not atomic): a live table keeps taking
writes while the index is built.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("crm", "0008_staff_profile")]

    operations = [
        AddIndexConcurrently(
            model_name="customer",
            index=models.Index(fields=["full_name", "id"], name="crm_customer_list_name_idx"),
        ),
        AddIndexConcurrently(
            model_name="customer",
            index=models.Index(fields=["created_at", "id"], name="crm_customer_list_created_idx"),
        ),
    ]
