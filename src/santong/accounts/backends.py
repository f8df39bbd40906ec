"""Log in with a username or a phone number; locked and inactive accounts are refused."""

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db.models import Q
from django.http import HttpRequest

from santong.accounts.models import User


class UsernameOrPhoneBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if not username or not password:
            return None
        user = User.objects.filter(Q(username=username) | Q(phone=username)).first()
        if user is None:
            User().set_password(password)  # same work as a real check, so timing tells nothing
            return None
        from santong.accounts.services import is_locked

        if is_locked(user):
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
