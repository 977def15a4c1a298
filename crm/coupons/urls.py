from django.urls import path

from crm.coupons import views

app_name = "coupons"

urlpatterns = [
    path("", views.report, name="report"),
    path("redeem/", views.redeem, name="redeem"),
]
