from django.urls import path

from desk import views

app_name = "desk"

urlpatterns = [
    path("", views.index, name="index"),
    path("command/<slug:action>/", views.command, name="command"),
    path("card/", views.card, name="card"),
    path("customers/new/", views.new_customer, name="new_customer"),
    path("categories/", views.categories, name="categories"),
    path("records/", views.create_record, name="create_record"),
    path("records/unfinished/", views.unfinished, name="unfinished"),
    path("voicemail/", views.voicemail, name="voicemail"),
    path("voicemail/<int:pk>/audio/", views.voicemail_audio, name="voicemail_audio"),
    path("voicemail/<int:pk>/status/", views.voicemail_status, name="voicemail_status"),
    path("returns/", views.returns, name="returns"),
    path("returns/<str:call_uuid>/done/", views.return_done, name="return_done"),
]
