"""Settings for the web tier, the CTI daemon and the workers: one set, read from the environment.

Every variable is documented in .env.example. With nothing configured the platform runs on
embedded defaults: a SQLite file, an embedded Redis server, and the switch simulator.
"""

from __future__ import annotations

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY",
    default="insecure-development-key-set-DJANGO_SECRET_KEY-in-production",
)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rules.apps.AutodiscoverRulesConfig",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "channels",
    "accounts",
    "telephony",
    "cti",
    "crm",
    "crm.customers",
    "crm.records",
    "crm.coupons",
    "crm.knowledge",
    "ivr",
    "crm.workorders",
    "desk",
    "wallboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: PostgreSQL in production and tests, a SQLite file when nothing is configured.
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: live state, pub/sub, streams, channel layer, job queues.
if env.str("REDIS_URL", default=""):
    REDIS_URL = env.str("REDIS_URL")
    REDIS_EMBEDDED = False
else:
    from config.embedded_redis import ensure_running

    REDIS_URL = ensure_running(VAR_DIR / "redis")
    REDIS_EMBEDDED = True

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": env.str("CHANNELS_PREFIX", default="asgi")},
    },
}

# Celery (kombu) spells a Redis unix socket redis+socket:// rather than unix://.
_CELERY_REDIS = REDIS_URL
if REDIS_URL.startswith("unix://"):
    _CELERY_REDIS = "redis+socket://" + REDIS_URL[len("unix://") :]
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=_CELERY_REDIS)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=_CELERY_REDIS)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TIMEZONE = "Asia/Shanghai"
RQ_QUEUE_NAME = env.str("RQ_QUEUE_NAME", default="cti")

# --- Telephony: FreeSWITCH nodes, the daemon's sockets, recordings.
FREESWITCH_ESL_URLS = env.list("FREESWITCH_ESL_URLS", default=[])
SWITCH_SIMULATOR = not FREESWITCH_ESL_URLS
SIMULATOR_ESL_PORT = env.int("SIMULATOR_ESL_PORT", default=8021)
CTI_SOCKET_HOST = env.str("CTI_SOCKET_HOST", default="127.0.0.1")
CTI_SOCKET_PORT = env.int("CTI_SOCKET_PORT", default=8084)
CTI_NODE_NAME = env.str("CTI_NODE_NAME", default="cti-1")
RECORDINGS_DIR = Path(env.str("RECORDINGS_DIR", default=str(BASE_DIR / "recordings")))
RECORDING_STEREO = env.bool("RECORDING_STEREO", default=False)
OUTBOUND_GATEWAY = env.str("OUTBOUND_GATEWAY", default="trunk")
# The caller ID customers see on calls the center places through the trunk (click to call,
# callbacks, transfers and consultations to outside numbers): the company's number. Unset,
# click to call and callbacks show FreeSWITCH's outbound_caller_id/_name globals
# (vars.xml), transfers and consultations pass the caller's number on. Spaces, commas,
# quotes and brackets are dropped (they would break the dial string).
OUTBOUND_CALLER_ID_NUMBER = env.str("OUTBOUND_CALLER_ID_NUMBER", default="")
OUTBOUND_CALLER_ID_NAME = env.str("OUTBOUND_CALLER_ID_NAME", default="")
PROMPTS_DIR = Path(env.str("PROMPTS_DIR", default=str(VAR_DIR / "prompts")))
# The daemon's IVR lookups call the web tier's internal API with this shared token.
IVR_LOOKUP_URL = env.str("IVR_LOOKUP_URL", default="http://127.0.0.1:8000/api/ivr/lookup/")
IVR_LOOKUP_TOKEN = env.str("IVR_LOOKUP_TOKEN", default="dev-ivr-lookup-token")
# The desk's browser softphone (JsSIP) registers to FreeSWITCH over this WebSocket (wss://...);
# empty: the desk works with desk phones (or the simulator's phones) only.
SOFTPHONE_WEBSOCKET_URL = env.str("SOFTPHONE_WEBSOCKET_URL", default="")
SOFTPHONE_SIP_DOMAIN = env.str("SOFTPHONE_SIP_DOMAIN", default="")
CENTER_COUNTRY = env.str("CENTER_COUNTRY", default="CN")
CENTER_AREA_CODE = env.str("CENTER_AREA_CODE", default="010")

# --- Authentication and roles.
AUTHENTICATION_BACKENDS = [
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

# --- Languages: Chinese by default, English complete.
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [d for d in [BASE_DIR / "static"] if d.exists()]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Call center platform API",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
