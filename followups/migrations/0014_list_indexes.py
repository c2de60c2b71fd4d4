"""Follow-ups in each order the list offers, over every status (issue 16).

GET /api/v1/followups/ orders by due_at (default), created_at, updated_at,
escalation_level or priority, over open and closed promises alike; only open
ones were indexed by due time, so each page sorted every promise ever made
(3 to 6 s at 1,000,000). updated_at has its own index already. ?overdue=true
gets the overdue promises' own: its capped count read every open one.

Built CONCURRENTLY (a live table keeps taking writes, so the migration is not
atomic).
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("followups", "0013_webhook_interaction_events")]

    operations = [
        AddIndexConcurrently(
            model_name="followup",
            index=models.Index(fields=["due_at", "id"], name="followups_due_idx"),
        ),
        AddIndexConcurrently(
            model_name="followup",
            index=models.Index(fields=["created_at", "id"], name="followups_created_idx"),
        ),
        AddIndexConcurrently(
            model_name="followup",
            index=models.Index(fields=["escalation_level", "id"], name="followups_level_idx"),
        ),
        AddIndexConcurrently(
            model_name="followup",
            index=models.Index(fields=["priority", "id"], name="followups_priority_idx"),
        ),
        AddIndexConcurrently(
            model_name="followup",
            index=models.Index(
                condition=models.Q(("is_overdue", True), ("status", "open")),
                fields=["due_at", "id"],
                name="followups_overdue_idx",
            ),
        ),
    ]
