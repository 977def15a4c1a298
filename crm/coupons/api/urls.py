from rest_framework.routers import SimpleRouter

from crm.coupons.api import views

router = SimpleRouter()
router.register("coupon-batches", views.CouponBatchViewSet)
router.register("coupons", views.CouponViewSet)

app_name = "coupons-api"
urlpatterns = router.urls
