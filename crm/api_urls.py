from rest_framework.routers import DefaultRouter

from crm import api

router = DefaultRouter()
router.register("customers", api.CustomerViewSet, basename="customer")

urlpatterns = router.urls
