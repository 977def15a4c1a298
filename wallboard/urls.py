from django.urls import path

from wallboard import views

app_name = "wallboard"

urlpatterns = [
    path("", views.index, name="index"),
    path("agents/<int:agent_id>/<slug:action>/", views.act, name="act"),
]
