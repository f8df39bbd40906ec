"""Django's password validators with the project's own messages.

Django's messages are English msgids translated by its shipped catalogues, which lag behind its
source: Django 5.2 formats the too-short message with ``%d`` while its zh_Hans catalogue still
has the ``%(min_length)d`` msgid, so under zh-hans the message came out in English. Writing the
messages here, as Chinese source strings with English in the project's ``en`` catalogue, puts
every message a user sees under the project's own translation test. The rules themselves stay
Django's.
"""

from django.contrib.auth import password_validation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    def get_error_message(self) -> str:
        return ngettext(
            "密码太短，至少需要 %(min_length)d 个字符。",
            "密码太短，至少需要 %(min_length)d 个字符。",
            self.min_length,
        ) % {"min_length": self.min_length}

    def get_help_text(self) -> str:
        return ngettext(
            "密码至少需要 %(min_length)d 个字符。",
            "密码至少需要 %(min_length)d 个字符。",
            self.min_length,
        ) % {"min_length": self.min_length}


class UserAttributeSimilarityValidator(password_validation.UserAttributeSimilarityValidator):
    def get_error_message(self) -> str:
        return _("密码与%(verbose_name)s过于相近。")

    def get_help_text(self) -> str:
        return _("密码不能与用户名、手机号等个人信息相近。")


class CommonPasswordValidator(password_validation.CommonPasswordValidator):
    def get_error_message(self) -> str:
        return _("该密码过于常见。")

    def get_help_text(self) -> str:
        return _("密码不能是常见密码。")


class NumericPasswordValidator(password_validation.NumericPasswordValidator):
    def get_error_message(self) -> str:
        return _("密码不能全为数字。")

    def get_help_text(self) -> str:
        return _("密码不能全为数字。")
