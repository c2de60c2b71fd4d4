from django.urls import path

from crm import views

app_name = "crm"

urlpatterns = [
    path("", views.home, name="home"),
    path("customers/", views.customer_list_page, name="customer-list"),
    path("me/", views.my_settings_page, name="my-settings"),
    path("customers/duplicates/", views.customer_duplicates_page, name="customer-duplicates"),
    path("customers/<int:customer_id>/", views.customer_detail_page, name="customer-detail"),
    path(
        "customers/<int:customer_id>/profile/",
        views.customer_profile_card,
        name="customer-profile",
    ),
    path(
        "customers/<int:customer_id>/profile/edit/",
        views.customer_profile_edit,
        name="customer-profile-edit",
    ),
    path(
        "customers/<int:customer_id>/consents/",
        views.customer_consent_record,
        name="customer-consent",
    ),
    path("customers/<int:customer_id>/facts/", views.customer_fact_add, name="customer-fact-add"),
    path(
        "customers/<int:customer_id>/facts/<int:fact_id>/",
        views.customer_fact_edit,
        name="customer-fact-edit",
    ),
    path(
        "customers/<int:customer_id>/facts/<int:fact_id>/delete/",
        views.customer_fact_delete,
        name="customer-fact-delete",
    ),
    path(
        "customers/<int:customer_id>/facts/<int:fact_id>/pin/",
        views.customer_fact_pin,
        name="customer-fact-pin",
    ),
    path(
        "customers/<int:customer_id>/contact-points/",
        views.customer_contact_point_add,
        name="customer-contact-point-add",
    ),
    path("customers/<int:customer_id>/merge/", views.customer_merge_page, name="customer-merge"),
    path(
        "customers/<int:customer_id>/contact-points/<int:contact_point_id>/primary/",
        views.customer_contact_point_make_primary,
        name="customer-contact-point-primary",
    ),
    path(
        "customers/<int:customer_id>/contact-points/<int:contact_point_id>/remove/",
        views.customer_contact_point_remove,
        name="customer-contact-point-remove",
    ),
]
