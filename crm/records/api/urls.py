from rest_framework.routers import SimpleRouter

from crm.records.api import views

router = SimpleRouter()
router.register("service-records", views.ServiceRecordViewSet)
router.register("service-categories", views.ServiceCategoryViewSet)
router.register("service-statuses", views.ServiceStatusViewSet)

app_name = "records-api"
urlpatterns = router.urls
