from django.urls import path

from crm.workorders import views

app_name = "workorders"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("new/", views.create, name="create"),
    path("query/", views.self_query, name="self_query"),
    path("notifications/", views.notifications, name="notifications"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/advance/<int:transition_id>/", views.advance, name="advance"),
    path("<int:pk>/claim/", views.claim, name="claim"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("<int:pk>/attachments/", views.attach, name="attach"),
]
