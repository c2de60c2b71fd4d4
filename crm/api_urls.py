from rest_framework.routers import DefaultRouter

from crm import api

router = DefaultRouter()
router.register("customers", api.CustomerViewSet, basename="customer")
router.register(
    r"customers/(?P<customer_pk>[0-9]+)/contact-points",
    api.ContactPointViewSet,
    basename="customer-contact-point",
)
router.register(
    r"customers/(?P<customer_pk>[0-9]+)/facts", api.FactViewSet, basename="customer-fact"
)
router.register(
    r"customers/(?P<customer_pk>[0-9]+)/consents", api.ConsentViewSet, basename="customer-consent"
)

urlpatterns = router.urls
