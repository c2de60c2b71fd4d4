from django.apps import AppConfig


class FollowupsConfig(AppConfig):
    name = "followups"
    verbose_name = "Follow-ups"

    def ready(self) -> None:
        # The supervisor board's table lives in its own module so the board
        # (followups/board_*.py) and the engine (models.py) change independently.
        from followups import (
            board_models,  # noqa: F401
            metrics_models,  # noqa: F401
        )
