"""URLs of the machine-facing interaction endpoints (included before the interactions router)."""

from django.urls import path

from interactions import sync_api

urlpatterns = [
    path("interactions/sync/", sync_api.InteractionSyncView.as_view(), name="interactions-sync"),
    path(
        "integrations/twilio/voice/",
        sync_api.TwilioVoiceCallbackView.as_view(),
        name="integrations-twilio-voice",
    ),
    path(
        "integrations/asterisk/cdr/",
        sync_api.AsteriskCdrView.as_view(),
        name="integrations-asterisk-cdr",
    ),
]
