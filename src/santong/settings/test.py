"""Test settings: the embedded defaults (or DATABASE_URL), a fixed key, fast hashing."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import database_from_env

SECRET_KEY = "test-secret-key-not-for-production"
SANTONG_ID_MASTER_KEY = bytes(range(32))
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DATABASES = {
    "default": database_from_env(Path(tempfile.gettempdir()) / f"santong-test-{os.getpid()}.db")
}
# Each run gets its own PostgreSQL test database, so parallel runs on one server don't collide.
DATABASES["default"]["TEST"] = (
    {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}
    if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3"
    else {"NAME": None}
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LANGUAGE_CODE = "zh-hans"
