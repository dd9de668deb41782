"""Settings for the operations console, read from the environment (django-environ).

Every value has a default that makes `make run` work on a laptop; production overrides them
through the environment (see the configuration table in README.md).
"""

import os
import sys
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from common.logcontext import log_file_name_for

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

INSECURE_DEV_SECRET_KEY = "django-insecure-dev-only-key-never-use-in-production"

# --- Core: debug, secret, hosts ----------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default=INSECURE_DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == INSECURE_DEV_SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is the insecure development default while DEBUG is off: "
        "set SECRET_KEY in the environment (or DEBUG=1 for local development)."
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Applications ------------------------------------------------------------------------------
INSTALLED_APPS = [
    # jazzmin must come before django.contrib.admin to override its templates
    "jazzmin",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "auditlog",
    "background_task",
    "django_user_agents",
    "axes",
    "users",
    "pubsub",
    "scheduler",
    "ops_admin",
]

MIDDLEWARE = [
    # outermost: every log line of the request carries its id, and the hit's duration covers it all
    "users.middleware.RequestIdMiddleware",
    "users.middleware.ApiHitLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # auditlog's, believing X-Forwarded-For only from IPWARE_TRUSTED_PROXIES
    "common.audit_middleware.TrustedProxyAuditlogMiddleware",
    # last, as django-axes requires: turns a locked-out admin login into the lockout page
    "axes.middleware.AxesMiddleware",
]

# django-axes first: it refuses a locked-out (username, address) before any password is checked
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"
ASGI_APPLICATION = "project.asgi.application"
AUTH_USER_MODEL = "users.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ops_admin.context_processors.dashboard",
            ],
        },
    },
]

# --- Database: SQLite file by default, MariaDB/MySQL through DATABASE_URL ----------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# 0 under ASGI, as Django advises: a persistent connection per request thread piles up until the
# server refuses more ("Too many connections"); daemons keep their one connection regardless
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "charset": "utf8mb4",
            # strict mode: bad data is an error, never a silent truncation
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION'",
            # READ COMMITTED: no gap locks, so SKIP LOCKED claims and inserts don't block each other
            "isolation_level": "read committed",
            # fail fast (and let /readyz say so) when the database host does not answer
            "connect_timeout": env.int("DATABASE_CONNECT_TIMEOUT", default=5),
        }
    )
    DATABASES["default"]["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # the web server and the daemons of one deployment share the file: a writer takes the lock at
    # BEGIN and waits for it (instead of failing "database is locked" when it upgrades a read
    # lock), and WAL lets the others read meanwhile
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL"}
    )

# --- Cache (throttling counters); use a shared cache when running several server processes -----
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# --- Passwords ---------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# threads hashing the passwords of an admin users import (users.tasks.import_users)
USER_IMPORT_HASH_THREADS = env.int("USER_IMPORT_HASH_THREADS", default=os.cpu_count() or 2)
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)
# staff and superusers reset their passwords through a superuser, not by e-mail, unless this is on
PASSWORD_RESET_ALLOW_STAFF = env.bool("PASSWORD_RESET_ALLOW_STAFF", default=False)
PASSWORD_RESET_URL = env.str(
    "PASSWORD_RESET_URL", default="http://127.0.0.1:8000/reset-password?uid={uid}&token={token}"
)

# --- E-mail: printed to the console in development ---------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ops-console@localhost")
if "EMAIL_URL" in env:
    vars().update(env.email_url("EMAIL_URL"))

# --- Internationalisation ----------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static and media files (WhiteNoise serves static files from the ASGI app) ------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# where admin users imports wait (previews and confirmed files): one directory that every web
# host and the scheduler host share and may write (deploy/systemd: ReadWritePaths)
USER_IMPORT_ROOT = Path(env.path("USER_IMPORT_ROOT", default=BASE_DIR / "private" / "user_imports"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
    # users files waiting for their import job (plaintext passwords until the job deletes them):
    # private, owner-only; the scheduler that runs the job must see the same directory
    "user_imports": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": USER_IMPORT_ROOT,
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    },
}
# the admin import's previewed files (django-import-export's MediaStorage writes them to the
# "import_export" storage): beside the job files, not in one web host's /tmp, so a confirm that
# lands on another web host finds its file; deleted at confirm, else by the hourly purge
STORAGES["import_export"] = STORAGES["user_imports"]
IMPORT_EXPORT_TMP_STORAGE_CLASS = "import_export.tmp_storages.MediaStorage"
# preview files, and files no waiting import job holds, older than this are deleted hourly
USER_IMPORT_FILE_MAX_AGE_SECS = env.int("USER_IMPORT_FILE_MAX_AGE_SECS", default=3600)

# --- Security: secure by default when DEBUG is off; each flag overridable ----------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    # only behind a proxy that sets this header itself
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=[])

# --- REST API ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["users.authentication.RevocableJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["common.api.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "common.api.pagination.StandardPagination",
    "PAGE_SIZE": env.int("API_PAGE_SIZE", default=25),
    "DEFAULT_SCHEMA_CLASS": "common.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "common.api.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "login": env.str("LOGIN_THROTTLE_RATE", default="10/min"),
        "password_reset": env.str("PASSWORD_RESET_THROTTLE_RATE", default="5/min"),
        # checks of one's own password (password change, e-mail change), per account
        "password_check": env.str("PASSWORD_CHECK_THROTTLE_RATE", default="5/min"),
    },
    # DRF's own client address is REMOTE_ADDR; the API's throttles (users.throttling) believe
    # X-Forwarded-For only from IPWARE_TRUSTED_PROXIES
    "NUM_PROXIES": 0,
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "TOKEN_OBTAIN_SERIALIZER": "users.serializers.auth.LoginSerializer",
    "TOKEN_REFRESH_SERIALIZER": "users.serializers.auth.RefreshSerializer",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Operations Console API",
    "DESCRIPTION": "Users, JWT authentication and token management of the operations console.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Messaging: RabbitMQ and the transactional outbox -----------------------------------------
# one node, or the nodes of one cluster separated by commas: connections go to the first that answers
RABBITMQ_URL = env.str("RABBITMQ_URL", default="amqp://guest:guest@127.0.0.1:5672/%2F")
for _node in RABBITMQ_URL.split(","):
    if not _node.strip().startswith(("amqp://", "amqps://")):
        raise ImproperlyConfigured(
            f"RABBITMQ_URL: {_node.strip()!r} is not an amqp:// or amqps:// URL "
            "(several nodes of one cluster are separated by commas)"
        )
# how every queue is declared: "quorum" (replicated on a cluster's nodes) or "classic"; a queue's
# type cannot change in place, `manage.py queues_migrate` moves existing queues (see the README)
RABBITMQ_QUEUE_TYPE = env.str("RABBITMQ_QUEUE_TYPE", default="classic")
if RABBITMQ_QUEUE_TYPE not in ("quorum", "classic"):
    raise ImproperlyConfigured(f"RABBITMQ_QUEUE_TYPE must be 'quorum' or 'classic', not {RABBITMQ_QUEUE_TYPE!r}")
# quorum queues: deliveries of one message before it is dead-lettered (reason delivery_limit)
RABBITMQ_DELIVERY_LIMIT = env.int("RABBITMQ_DELIVERY_LIMIT", default=20)
# this deployment's name in messages it sends; receivers key synced users by (source, id). Two
# deployments left on the default would take each other's messages for their own: the sync consumer
# refuses to start with it
DEPLOYMENT_NAME_DEFAULT = "ops-console"
DEPLOYMENT_NAME = env.str("DEPLOYMENT_NAME", default=DEPLOYMENT_NAME_DEFAULT)
USER_SYNC_EXCHANGE = env.str("USER_SYNC_EXCHANGE", default="drf_exchange")
USER_SYNC_QUEUES = env.list("USER_SYNC_QUEUES", default=["drf_queue"])
# queues this deployment consumes user messages from (the receiving side)
USER_SYNC_CONSUME_QUEUES = env.list("USER_SYNC_CONSUME_QUEUES", default=USER_SYNC_QUEUES)
# where other deployments send this one their requests (sync.resync_requested): a queue it consumes
USER_SYNC_REPLY_QUEUE = env.str("USER_SYNC_REPLY_QUEUE", default=USER_SYNC_CONSUME_QUEUES[0])
USER_SYNC_PREFETCH = env.int("USER_SYNC_PREFETCH", default=100)
# privilege flags from another deployment are ignored unless this is on
USER_SYNC_ACCEPT_PRIVILEGES = env.bool("USER_SYNC_ACCEPT_PRIVILEGES", default=False)
USER_SYNC_MAX_BODY_BYTES = env.int("USER_SYNC_MAX_BODY_BYTES", default=256 * 1024)
# a resync enqueues this many snapshots per transaction, and waits while more than
# USER_RESYNC_OUTBOX_BACKLOG_MAX rows are pending, so live changes never queue behind a whole resync
# (0: no wait: the outbox then holds the whole resync ahead of live changes)
USER_RESYNC_BATCH_SIZE = env.int("USER_RESYNC_BATCH_SIZE", default=50)
USER_RESYNC_OUTBOX_BACKLOG_MAX = env.int("USER_RESYNC_OUTBOX_BACKLOG_MAX", default=50)
# and while more than this many messages wait in the receivers' queue (0: no wait): a consumer
# slower than the relay would otherwise hold live messages behind the whole resync
USER_RESYNC_QUEUE_DEPTH_MAX = env.int("USER_RESYNC_QUEUE_DEPTH_MAX", default=20)
USER_RESYNC_WAIT_SECS = env.float("USER_RESYNC_WAIT_SECS", default=0.05)
# drift detection: one digest hash per this many user ids, published every USER_SYNC_DIGEST_SECS
# by the scheduler (0: only on demand) to each of USER_SYNC_QUEUES
USER_SYNC_DIGEST_RANGE_SIZE = env.int("USER_SYNC_DIGEST_RANGE_SIZE", default=1000)
USER_SYNC_DIGEST_SECS = env.int("USER_SYNC_DIGEST_SECS", default=3600)
OUTBOX_MESSAGE_TTL_SECS = env.int("OUTBOX_MESSAGE_TTL_SECS", default=7 * 24 * 3600)
OUTBOX_BATCH_SIZE = env.int("OUTBOX_BATCH_SIZE", default=500)
# messages a relay keeps published but not yet confirmed, on its one broker connection
OUTBOX_PUBLISH_WINDOW = env.int("OUTBOX_PUBLISH_WINDOW", default=1000)
# a claim's lease, on the database's clock; renewed while its messages are being published
OUTBOX_LEASE_SECS = env.float("OUTBOX_LEASE_SECS", default=60)
# an idle relay probes the due index this often: the bound of its latency and its idle cost
OUTBOX_IDLE_POLL_MS = env.int("OUTBOX_IDLE_POLL_MS", default=25)
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=10)
OUTBOX_RETRY_BASE_SECS = env.float("OUTBOX_RETRY_BASE_SECS", default=2.0)
OUTBOX_RETRY_MAX_SECS = env.float("OUTBOX_RETRY_MAX_SECS", default=3600.0)
# seconds between two looks for new dead-letter queues in the outbox
DEADLETTER_REFRESH_SECS = env.int("DEADLETTER_REFRESH_SECS", default=30)
WORKER_HEARTBEAT_SECS = env.int("WORKER_HEARTBEAT_SECS", default=5)
# heartbeat rows of processes not seen for this long are purged daily (0 keeps them)
HEARTBEAT_RETENTION_DAYS = env.int("HEARTBEAT_RETENTION_DAYS", default=7)

# --- API-hit logging (users.UserAPIHitLog) -----------------------------------------------------
API_HIT_LOG_ENABLED = env.bool("API_HIT_LOG_ENABLED", default=True)
# paths logged: these prefixes, less the regexes excluded (docs, schema, health, metrics)
API_HIT_LOG_PREFIXES = env.list("API_HIT_LOG_PREFIXES", default=["/api/"])
API_HIT_LOG_EXCLUDE = env.list(
    "API_HIT_LOG_EXCLUDE", default=[r"^/api/docs/", r"^/api/schema/", r"^/healthz$", r"^/readyz$", r"^/metrics$"]
)
# "background": a bounded in-process queue written by a thread in batches (the request never
# waits for the database; a graceful stop flushes it, a crash loses what is queued);
# "inline": each hit written in its request (nothing lost, a write per request)
API_HIT_LOG_WRITER = env.str("API_HIT_LOG_WRITER", default="background")
API_HIT_LOG_QUEUE_SIZE = env.int("API_HIT_LOG_QUEUE_SIZE", default=10000)
API_HIT_LOG_BATCH_SIZE = env.int("API_HIT_LOG_BATCH_SIZE", default=500)
# longest a hit waits in the queue when traffic is light
API_HIT_LOG_FLUSH_SECS = env.float("API_HIT_LOG_FLUSH_SECS", default=1.0)
# 0 keeps hits forever
API_HIT_RETENTION_DAYS = env.int("API_HIT_RETENTION_DAYS", default=90)
# the reverse proxies in front, outermost first (IPs, CIDRs or prefixes, as django-ipware takes
# them); X-Forwarded-For is believed only when the connecting peer is the last of them
IPWARE_TRUSTED_PROXIES = env.list("IPWARE_TRUSTED_PROXIES", default=[])
# this server's address in the hits; found once at start (the interface with the default route)
SERVER_INTERNAL_IP = env.str("SERVER_INTERNAL_IP", default="")

# --- Login lockout (django-axes): repeated failed logins, admin and API -------------------------
# A second layer under the API's login throttle (LOGIN_THROTTLE_RATE): the throttle slows one
# address whatever it tries, the lockout stops guessing one account's password. Ops unlock in the
# admin (Security › Login lockouts); see users/login_lockout.py.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
# failed logins of one username from one address before that pair is locked out
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
# the lockout ends this long after the pair's last failure, and every refused try starts it again;
# 0: it lasts until an operator unlocks it
AXES_COOLOFF_MINUTES = env.int("AXES_COOLOFF_MINUTES", default=15)
AXES_COOLOFF_TIME = timedelta(minutes=AXES_COOLOFF_MINUTES) if AXES_COOLOFF_MINUTES else None
# the pair, not the username alone (anyone could lock a person out from everywhere by typing wrong
# passwords for them) nor the address alone (one office or NAT address would lock out everyone
# behind it); one address trying many usernames is the throttle's job
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# a good password (outside a lockout) clears the pair's failures
AXES_RESET_ON_SUCCESS = True
# the database, not a per-process cache: every web process and host sees the same failures
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
# the client's address by the project's one rule (common.net.client_ip, IPWARE_TRUSTED_PROXIES).
# Not axes' AXES_IPWARE_* call: it believes an X-Forwarded-For whose last hop names a trusted proxy
# from any peer, so each forged header would be a fresh address with no failures
AXES_CLIENT_IP_CALLABLE = "users.login_lockout.login_client_ip"
# the username tried, cut to the length axes' tables hold
AXES_USERNAME_CALLABLE = "users.login_lockout.login_username"
AXES_LOCKOUT_TEMPLATE = "axes/lockout.html"
# one row per failure kept for the auditors (the attempts themselves go when a lockout ends)
AXES_ENABLE_ACCESS_FAILURE_LOG = env.bool("AXES_ENABLE_ACCESS_FAILURE_LOG", default=True)
# failed-login and admin-login log rows older than this are deleted daily (0 keeps them)
LOGIN_LOG_RETENTION_DAYS = env.int("LOGIN_LOG_RETENTION_DAYS", default=180)

# --- Scheduled tasks (django4-background-tasks, `manage.py dj_tasks_scheduler`) -----------------
SCHEDULER_REGISTERED_TASKS = env.str("SCHEDULER_REGISTERED_TASKS", default="project.registered_tasks.REGISTERED_TASKS")
SCHEDULER_HEARTBEAT_SECS = env.int("SCHEDULER_HEARTBEAT_SECS", default=60)
# one or more schedulers may run; the one holding the lease (renewed every third of it, on the
# database's clock) runs the tasks, another takes over within this long after it dies
SCHEDULER_LEASE_SECS = env.float("SCHEDULER_LEASE_SECS", default=30)
# background_task reads these two unprefixed names: attempts before a task is marked failed (its
# error kept in CompletedTask.last_error), and seconds before a locked task counts as abandoned
MAX_ATTEMPTS = env.int("SCHEDULER_MAX_ATTEMPTS", default=3)
MAX_RUN_TIME = env.int("SCHEDULER_MAX_RUN_SECS", default=3600)
# rows deleted per statement by the housekeeping tasks, so no purge locks a table for long
HOUSEKEEPING_BATCH_SIZE = env.int("HOUSEKEEPING_BATCH_SIZE", default=1000)
# published outbox rows older than this are deleted (0 keeps them)
OUTBOX_RETENTION_DAYS = env.int("OUTBOX_RETENTION_DAYS", default=30)
# finished background_task.CompletedTask rows older than this are deleted (0 keeps them)
COMPLETED_TASK_RETENTION_DAYS = env.int("COMPLETED_TASK_RETENTION_DAYS", default=14)

# --- Health and metrics (/healthz, /readyz, /metrics) ------------------------------------------
# probes and scrapers speak plain HTTP to the process, behind the TLS-terminating proxy
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
READINESS_TIMEOUT_SECS = env.float("READINESS_TIMEOUT_SECS", default=2.0)
# /readyz reuses its result this long (per process), so no probe flood reaches the broker
READINESS_CACHE_SECS = env.float("READINESS_CACHE_SECS", default=1.0)
# /metrics reports API requests (count by status, latency) over this many recent seconds
METRICS_API_WINDOW_SECS = env.int("METRICS_API_WINDOW_SECS", default=60)
# when set, /metrics answers only a scraper sending it as a bearer token (Prometheus: authorization)
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# --- Admin exports (django-import-export; common/admin/export.py) -----------------------------
# text a spreadsheet would run as a formula (= + - @, tab, CR) is neutralised in CSV and XLSX exports
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True

# --- Admin theme -------------------------------------------------------------------------------
from ops_admin.theme import JAZZMIN_SETTINGS, JAZZMIN_UI_TWEAKS  # noqa: E402,F401

# --- Logging: one config for the server and the daemons ---------------------------------------
# Every line names its request (req=<X-Request-ID>) or broker message (msg=<message_id>). Daemons
# write logs/<command>.log, the ASGI server logs/server.log, other commands only the console.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_DIR = Path(env.str("LOG_DIR", default=str(BASE_DIR / "logs")))
LOG_FILE = env.str("LOG_FILE", default=log_file_name_for(sys.argv))
# 0: no rotation by this process (WatchedFileHandler), for logrotate when several processes share a file
LOG_FILE_MAX_BYTES = env.int("LOG_FILE_MAX_BYTES", default=10 * 1024 * 1024)
LOG_FILE_BACKUPS = env.int("LOG_FILE_BACKUPS", default=5)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"log_context": {"()": "common.logcontext.LogContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(process)d %(log_context)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["log_context"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # pika logs every connection step at INFO
        "pika": {"level": "WARNING"},
    },
}
if LOG_FILE:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    LOGGING["handlers"]["file"] = {
        "formatter": "plain",
        "filters": ["log_context"],
        "filename": str(LOG_DIR / LOG_FILE),
        "encoding": "utf-8",
        "delay": True,
        **(
            {
                "class": "logging.handlers.RotatingFileHandler",
                "maxBytes": LOG_FILE_MAX_BYTES,
                "backupCount": LOG_FILE_BACKUPS,
            }
            if LOG_FILE_MAX_BYTES
            else {"class": "logging.handlers.WatchedFileHandler"}
        ),
    }
    LOGGING["root"]["handlers"].append("file")
