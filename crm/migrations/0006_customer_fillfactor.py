"""Room on every customer page for the touch each logged contact makes.

`crm.services.customer_touch` updates `last_activity_at` on every interaction
logged. On a full page PostgreSQL cannot keep the new row version beside the
old one, so each touch wrote a new entry into every index of crm_customer
(including the name trigram GIN index): in the 1M-customer benchmark only 19%
of the updates were HOT (heap-only). With 10% of each page kept free, and
`last_activity_at` in no index, they all were.

Pages written before this keep no free room until the table is rewritten
(`VACUUM FULL crm_customer`, or pg_repack without the lock); new and updated
rows use it at once.
"""

from django.db import migrations

FILLFACTOR = 90


class Migration(migrations.Migration):
    dependencies = [("crm", "0005_customer_name_words")]

    operations = [
        migrations.RunSQL(
            [f"ALTER TABLE crm_customer SET (fillfactor = {FILLFACTOR})"],
            ["ALTER TABLE crm_customer RESET (fillfactor)"],
            elidable=False,
        )
    ]
