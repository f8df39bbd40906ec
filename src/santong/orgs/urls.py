from django.urls import path

from santong.orgs import views

app_name = "orgs"
urlpatterns = [
    path("tree/", views.tree, name="tree"),
    path("tree/<path:unit_path>/", views.tree, name="tree_node"),
    path("schools/", views.school_list, name="school_list"),
    path("schools/new/", views.school_create, name="school_create"),
    path("schools/<int:pk>/", views.school_detail, name="school_detail"),
    path("schools/<int:school_pk>/classes/new/", views.class_create, name="class_create"),
    path("classes/", views.class_list, name="class_list"),
    path("classes/<int:pk>/", views.class_detail, name="class_detail"),
]
