from rest_framework.routers import DefaultRouter

from telephony.api import views

router = DefaultRouter()
router.register("agents", views.AgentViewSet)
router.register("groups", views.AgentGroupViewSet)
router.register("queues", views.QueueViewSet)
router.register("dids", views.DIDViewSet)
router.register("blacklist", views.BlacklistEntryViewSet)
router.register("busy-reasons", views.BusyReasonViewSet)
router.register("holidays", views.HolidayViewSet)

app_name = "telephony-api"
urlpatterns = router.urls
