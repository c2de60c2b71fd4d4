"""The reporting app's tables: escalation acknowledgements and the metrics rollups.

They were born in `followups` and keep their tables: migration reporting/0001 moved
them here without touching the database.
"""

from reporting.board_models import EscalationAcknowledgement
from reporting.metrics_models import (
    ContactDay,
    ContactFact,
    InteractionDeletion,
    MatterDay,
    MatterDeletion,
    MatterFact,
    PromiseDay,
    PromiseFact,
    PromiseLateness,
    RollupState,
)

__all__ = [
    "ContactDay",
    "ContactFact",
    "EscalationAcknowledgement",
    "InteractionDeletion",
    "MatterDay",
    "MatterDeletion",
    "MatterFact",
    "PromiseDay",
    "PromiseFact",
    "PromiseLateness",
    "RollupState",
]
