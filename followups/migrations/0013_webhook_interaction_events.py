"""Webhook deliveries of interaction events (interactions/events.py).

Reversed, the interaction events' deliveries go (a delivery needs its
follow-up event again).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("followups", "0012_webhook_outbox"),
        ("interactions", "0011_interaction_events"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhookdelivery",
            name="interaction",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="webhook_deliveries",
                to="interactions.interaction",
            ),
        ),
        migrations.AlterField(
            model_name="webhookdelivery",
            name="event",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="webhook_deliveries",
                to="followups.followupevent",
            ),
        ),
        migrations.RunSQL(
            migrations.RunSQL.noop,
            reverse_sql="DELETE FROM followups_webhookdelivery WHERE event_id IS NULL",
        ),
        migrations.AlterField(
            model_name="webhookdelivery",
            name="event_type",
            field=models.CharField(
                choices=[
                    ("followup.cancelled", "followup.cancelled"),
                    ("followup.escalated", "followup.escalated"),
                    ("followup.kept", "followup.kept"),
                    ("followup.overdue", "followup.overdue"),
                    ("followup.promised", "followup.promised"),
                    ("followup.reassigned", "followup.reassigned"),
                    ("followup.reminded", "followup.reminded"),
                    ("followup.renegotiated", "followup.renegotiated"),
                    ("interaction.feedback_received", "interaction.feedback_received"),
                    ("interaction.logged", "interaction.logged"),
                    ("interaction.updated", "interaction.updated"),
                ],
                max_length=40,
            ),
        ),
        migrations.AddConstraint(
            model_name="webhookdelivery",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("event__isnull", False), ("interaction__isnull", True)),
                    models.Q(("event__isnull", True), ("interaction__isnull", False)),
                    _connector="OR",
                ),
                name="webhook_delivery_one_subject",
            ),
        ),
    ]
