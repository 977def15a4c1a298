from django.urls import path
from rest_framework.routers import DefaultRouter

from crm.workorders.api import views

router = DefaultRouter()
router.register("orders", views.WorkOrderViewSet)
router.register("workflows", views.WorkflowViewSet)
router.register("departments", views.DepartmentViewSet)
router.register("notifications", views.NotificationViewSet)

app_name = "workorders-api"
urlpatterns = [
    path("self-query/", views.SelfQueryView.as_view(), name="self-query"),
    *router.urls,
]
