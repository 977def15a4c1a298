"""Top-level URL configuration."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/telephony/", include("telephony.api.urls")),
    path("api/crm/knowledge/", include("crm.knowledge.api.urls")),
    path("crm/knowledge/", include("crm.knowledge.urls")),
    path("api/crm/workorders/", include("crm.workorders.api.urls")),
    path("crm/workorders/", include("crm.workorders.urls")),
    path("api/crm/", include("crm.customers.api.urls")),
    path("api/crm/", include("crm.records.api.urls")),
    path("api/crm/", include("crm.coupons.api.urls")),
    path("crm/records/", include("crm.records.urls")),
    path("crm/coupons/", include("crm.coupons.urls")),
    path("crm/", include("crm.customers.urls")),
    path("api/ivr/", include("ivr.api.urls")),
    path("desk/", include("desk.urls")),
    path("wallboard/", include("wallboard.urls")),
    path("", include("accounts.urls")),
]
