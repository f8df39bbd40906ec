"""The Celery application: background jobs run here when CELERY_BROKER_URL is set.

Start a worker with `celery -A santong.celery worker`. Without a broker nothing needs to run:
jobs go to a thread of the web process instead (see `santong.imports.jobs`).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "santong.settings.dev")

app = Celery("santong")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
