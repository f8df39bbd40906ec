from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "santong.registry"
    label = "registry"
    verbose_name = _("基础数据库")

    def ready(self) -> None:
        from santong.registry.services import codes

        post_migrate.connect(codes.sync_code_tables_after_migrate, sender=self)
