from django.urls import path
from rest_framework.routers import DefaultRouter

from ivr.api import views

router = DefaultRouter()
router.register("voicemails", views.VoicemailViewSet, basename="voicemail")

app_name = "ivr-api"
urlpatterns = [
    path("lookup/deposit-balance/", views.DepositBalanceView.as_view(), name="deposit-balance"),
    path("lookup/loans/", views.LoansView.as_view(), name="loans"),
    path("lookup/change-password/", views.ChangePasswordView.as_view(), name="change-password"),
    path("lookup/work-order/", views.WorkOrderView.as_view(), name="work-order"),
    *router.urls,
]
