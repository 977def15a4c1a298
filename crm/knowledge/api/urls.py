from rest_framework.routers import DefaultRouter

from crm.knowledge.api import views

router = DefaultRouter()
router.register("categories", views.CategoryViewSet)
router.register("articles", views.ArticleViewSet)

app_name = "knowledge-api"
urlpatterns = router.urls
