from django.urls import path

from followups import views

app_name = "followups"

urlpatterns = [
    path("my-day/", views.my_day, name="my-day"),
    path("<int:followup_id>/", views.followup_detail, name="detail"),
    path("<int:followup_id>/complete/", views.followup_complete_inline, name="complete"),
    path(
        "customers/<int:customer_id>/promises/", views.customer_promises, name="customer-promises"
    ),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/bell/", views.notification_bell, name="bell"),
    path("notifications/read/", views.notifications_mark_read, name="notifications-read"),
]
