from rest_framework.routers import SimpleRouter

from followups import api

router = SimpleRouter()
router.register("followups", api.FollowUpViewSet, basename="followup")
router.register("webhooks/endpoints", api.WebhookEndpointViewSet, basename="webhook-endpoint")

urlpatterns = router.urls
