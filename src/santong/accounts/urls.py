from django.urls import path

from santong.accounts import activation, views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("activate/", activation.activate, name="activate"),
    path("password/", views.password_change, name="password_change"),
    path("switch-role/", views.switch_role, name="switch_role"),
    path("people/", views.person_list, name="person_list"),
    path("people/<int:pk>/", views.person_detail, name="person_detail"),
    path("people/<int:pk>/reveal/", views.person_reveal, name="person_reveal"),
    path("users/", views.account_list, name="account_list"),
    path("users/new/", views.account_create, name="account_create"),
    path("users/<int:pk>/", views.account_detail, name="account_detail"),
    path("users/<int:pk>/active/", views.account_set_active, name="account_set_active"),
    path(
        "users/<int:pk>/reset-password/",
        views.account_reset_password,
        name="account_reset_password",
    ),
    path("users/<int:pk>/roles/", views.account_grant_role, name="account_grant_role"),
    path("roles/", views.role_list, name="role_list"),
    path("roles/<int:pk>/revoke/", views.role_revoke, name="role_revoke"),
]
