"""Interaction events for listeners above this floor (interactions/events.py)."""

import django.contrib.postgres.fields
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("interactions", "0010_feedback_links"),
    ]

    operations = [
        migrations.CreateModel(
            name="InteractionEventSubscription",
            fields=[
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("logged", "Logged"),
                            ("updated", "Updated"),
                            ("feedback_received", "Feedback received"),
                        ],
                        max_length=32,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="InteractionEventOutbox",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("logged", "Logged"),
                            ("updated", "Updated"),
                            ("feedback_received", "Feedback received"),
                        ],
                        max_length=32,
                    ),
                ),
                (
                    "interaction_ids",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.BigIntegerField(), size=None
                    ),
                ),
                ("occurred_at", models.DateTimeField()),
            ],
            options={
                "ordering": ["pk"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("kind__in", ["logged", "updated", "feedback_received"])
                        ),
                        name="interactions_event_outbox_kind_valid",
                    )
                ],
            },
        ),
    ]
