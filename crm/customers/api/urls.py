from rest_framework.routers import SimpleRouter

from crm.customers.api import views

router = SimpleRouter()
router.register("customers", views.CustomerViewSet)
router.register("custom-fields", views.CustomFieldDefinitionViewSet)
router.register("code-tables", views.CodeTableViewSet)
router.register("customer-jobs", views.SpreadsheetJobViewSet)

app_name = "customers-api"
urlpatterns = router.urls
