from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class OrgsConfig(AppConfig):
    name = "santong.orgs"
    label = "orgs"
    verbose_name = _("组织机构")

    def ready(self) -> None:
        from . import services

        post_migrate.connect(services.sync_code_tables_after_migrate, sender=self)
