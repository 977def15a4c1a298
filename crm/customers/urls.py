from django.urls import path

from crm.customers import views

app_name = "crm"

urlpatterns = [
    path("", views.index, name="index"),
    path("customers/<int:pk>/", views.customer_detail, name="customer_detail"),
    path("customers/export/", views.export, name="export"),
    path("customers/import/", views.import_upload, name="import"),
    path("customers/import/<int:pk>/", views.import_preview, name="import_preview"),
    path("customers/import/<int:pk>/start/", views.import_start, name="import_start"),
    path("jobs/<int:pk>/", views.job_detail, name="job"),
    path("jobs/<int:pk>/result/", views.job_result, name="job_result"),
]
