from django.urls import path

from santong.imports import views

app_name = "imports"
urlpatterns = [
    path("", views.job_list, name="job_list"),
    path("<slug:kind>/template/", views.template, name="template"),
    path("<slug:kind>/upload/", views.upload, name="upload"),
    path("jobs/<int:pk>/", views.job_detail, name="job"),
    path("jobs/<int:pk>/status/", views.job_status, name="job_status"),
    path("jobs/<int:pk>/mapping/", views.mapping, name="mapping"),
    path("jobs/<int:pk>/report/", views.report, name="report"),
    path("jobs/<int:pk>/class-list/", views.class_list, name="class_list"),
]
