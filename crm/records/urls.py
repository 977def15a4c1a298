from django.urls import path

from crm.records import views

app_name = "records"

urlpatterns = [
    path("", views.record_list, name="list"),
    path("unfinished/", views.unfinished, name="unfinished"),
    path("<int:pk>/", views.record_detail, name="detail"),
    path("<int:pk>/escalate/", views.escalate, name="escalate"),
]
