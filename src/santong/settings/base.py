"""Settings shared by every deployment; each value can be set from the environment.

Every variable read here is documented in README.md (section Configuration). The defaults are
the embedded ones: SQLite in WAL mode under `var/`, jobs in-process, files on local disk,
cache in local memory, so `santong demo` needs nothing else running.
"""

import base64
import hashlib
import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SANTONG_VAR_DIR", Path.cwd() / "var")).resolve()


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


SECRET_KEY = os.environ.get("SECRET_KEY", "")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "santong.core",
    "santong.orgs",
    "santong.accounts",
    "santong.audit",
    "santong.registry",
    "santong.imports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "santong.accounts.middleware.ActiveRoleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "santong.urls"
WSGI_APPLICATION = "santong.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "santong.accounts.context_processors.active_role",
            ],
        },
    },
]


def database_from_env(default_sqlite: Path) -> dict[str, object]:
    """Reads DATABASE_URL; SQLite gets WAL and immediate transactions so writers queue, not fail."""
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{default_sqlite}"
    config: dict[str, object] = dict(dj_database_url.parse(url, conn_max_age=0))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                " PRAGMA busy_timeout=10000;"
            ),
            "transaction_mode": "IMMEDIATE",
        }
    return config


DATABASES = {"default": database_from_env(VAR_DIR / "santong.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["santong.accounts.backends.UsernameOrPhoneBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"
# Django's rules with the project's messages (see santong.accounts.passwords). An account has
# no first name, last name or e-mail: its personal information is the username and phone.
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "santong.accounts.passwords.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("username", "phone")},
    },
    {"NAME": "santong.accounts.passwords.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "santong.accounts.passwords.CommonPasswordValidator"},
    {"NAME": "santong.accounts.passwords.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL.startswith("redis"):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cache"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"

SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", 8 * 3600))
SESSION_COOKIE_HTTPONLY = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["santong.core.permissions.HasActiveRole"],
    "DEFAULT_PAGINATION_CLASS": "santong.core.pagination.Pagination",
    "PAGE_SIZE": 50,
    # The API speaks JSON only; its filters refuse what they cannot honour (santong.core.filters).
    "DEFAULT_PARSER_CLASSES": ["santong.core.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_FILTER_BACKENDS": [
        "santong.core.filters.FilterBackend",
        "santong.core.filters.SearchFilter",
        "santong.core.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "santong.core.api.ApiSchema",
    "EXCEPTION_HANDLER": "santong.core.api.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "santong API",
    "DESCRIPTION": "三通两平台 — regions, schools, classes, people, roles and audit.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Schools and roles both have a `kind`; name their choice sets apart in the schema.
    "ENUM_NAME_OVERRIDES": {
        "SchoolKindEnum": "santong.orgs.models.School.Kind",
        "RoleKindEnum": "santong.accounts.models.Role.Kind",
        # The registries' records, requests and events each have their own kinds and states.
        "StudentRequestKindEnum": "santong.registry.models.StudentRequest.Kind",
        "StudentEventKindEnum": "santong.registry.models.StudentEvent.Kind",
        "TeacherEventKindEnum": "santong.registry.models.TeacherEvent.Kind",
        "StudentStatusEnum": "santong.registry.models.StudentRecord.Status",
        "TeacherStatusEnum": "santong.registry.models.TeacherRecord.Status",
        "SchoolStatusEnum": "santong.registry.models.SchoolProfile.Status",
        "ApprovalStatusEnum": "santong.registry.models.ApprovalFlow.Status",
        "ApprovalLevelEnum": "santong.registry.models.ApprovalFlow.Level",
    },
}

# Background jobs (imports) run in a thread of the web process unless a broker is configured;
# then they go to Celery workers (`celery -A santong.celery worker`).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "santong")
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
# The largest file the web and the API accept for an import (a million student rows as .csv
# are about 150 MB).
SANTONG_IMPORT_MAX_BYTES = int(os.environ.get("SANTONG_IMPORT_MAX_BYTES", 200 * 1024 * 1024))

# The province this deployment serves (GB/T 2260 2-digit code), or "" for the whole country.
SANTONG_PROVINCE = os.environ.get("SANTONG_PROVINCE", "51")

# A student transfer that crosses cities waits, after both counties, for both cities' bureaus
# too (and a transfer out of the region for the sending city), where a province asks for it.
SANTONG_TRANSFER_CITY_APPROVAL = env_bool("SANTONG_TRANSFER_CITY_APPROVAL", False)

# Resident ID numbers are encrypted and hashed with keys derived from this master key, which
# lives outside the database (environment or a key file), never in it.
SANTONG_ID_CIPHER = os.environ.get("SANTONG_ID_CIPHER", "aes-256-gcm")


def load_master_key(key_file: Path) -> bytes:
    """The identity master key: SANTONG_ID_MASTER_KEY (base64) or a generated key file."""
    encoded = os.environ.get("SANTONG_ID_MASTER_KEY")
    if encoded:
        key = base64.b64decode(encoded)
        if len(key) != 32:
            raise ValueError("SANTONG_ID_MASTER_KEY must be 32 bytes, base64-encoded")
        return key
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_bytes(base64.b64encode(os.urandom(32)))
        key_file.chmod(0o600)
    return base64.b64decode(key_file.read_bytes())


def derive_demo_secret(key_file: Path) -> str:
    return hashlib.sha256(b"santong-secret-key" + load_master_key(key_file)).hexdigest()


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
