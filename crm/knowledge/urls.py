from django.urls import path

from crm.knowledge import views

app_name = "knowledge"

urlpatterns = [
    path("", views.search, name="search"),
    path("articles/new/", views.article_edit, name="article_create"),
    path("articles/<int:pk>/", views.article_detail, name="article"),
    path("articles/<int:pk>/edit/", views.article_edit, name="article_edit"),
    path("articles/<int:pk>/<slug:action>/", views.article_action, name="article_action"),
]
