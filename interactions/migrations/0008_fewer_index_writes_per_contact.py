"""Four fewer index writes for every contact logged (issue 6, single create).

- interaction.customer and interaction.matter: their own indexes duplicated the
  leading column of interactions_timeline_idx (customer, -occurred_at, -id) and
  interactions_matter_idx (matter, occurred_at), which serve the same lookups
  and the foreign-key checks.
- interaction.category and matter.category: a varchar foreign key got a second
  `varchar_pattern_ops` index for LIKE, and no query searches a slug with LIKE;
  a plain btree on each stays.

The new indexes are created before the old ones go, so no lookup runs without
one. Reversible: going back recreates the indexes Django named before.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0005_customer_name_words"),
        ("interactions", "0007_metrics_day_and_matter_updated_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="interaction",
            index=models.Index(fields=["category"], name="interactions_category_idx"),
        ),
        migrations.AddIndex(
            model_name="matter",
            index=models.Index(fields=["category"], name="interactions_matter_category"),
        ),
        migrations.AlterField(
            model_name="interaction",
            name="category",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="interactions",
                to="interactions.interactioncategory",
                to_field="slug",
            ),
        ),
        migrations.AlterField(
            model_name="interaction",
            name="customer",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="interactions",
                to="crm.customer",
            ),
        ),
        migrations.AlterField(
            model_name="interaction",
            name="matter",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="interactions",
                to="interactions.matter",
            ),
        ),
        migrations.AlterField(
            model_name="matter",
            name="category",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="matters",
                to="interactions.interactioncategory",
                to_field="slug",
            ),
        ),
    ]
