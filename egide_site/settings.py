"""Egide settings, read from the environment (see README "Configuration").

Development (`EGIDE_DEV=1`): DEBUG on, SQLite under ./var, a master key and a
SECRET_KEY generated on first run into 0600 files. Production: every secret
must be given, HTTPS is assumed, and `manage.py check --deploy` is clean.
"""

from __future__ import annotations

import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from egide_site import env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env.text("EGIDE_VAR_DIR") or BASE_DIR / "var")

DEV = env.boolean("EGIDE_DEV", False)
DEBUG = env.boolean("EGIDE_DEBUG", DEV)


def _dev_file_secret(path: Path, make: callable) -> str:  # type: ignore[valid-type]
    """Read, or create with mode 0600, a development-only secret file."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value


SECRET_KEY = env.secret("SECRET_KEY")
if not SECRET_KEY:
    if not DEV:
        raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) is required outside EGIDE_DEV=1")
    SECRET_KEY = _dev_file_secret(VAR_DIR / "dev-secret-key", lambda: secrets.token_urlsafe(50))

ALLOWED_HOSTS = env.csv("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEV else "")
if not ALLOWED_HOSTS and not DEV:
    raise ImproperlyConfigured("ALLOWED_HOSTS is required outside EGIDE_DEV=1 (comma-separated)")
CSRF_TRUSTED_ORIGINS = env.csv("CSRF_TRUSTED_ORIGINS")

# --- master key: the root of the key hierarchy (kms/keyring.py reads these) ---
EGIDE_MASTER_KEY = env.secret("EGIDE_MASTER_KEY")
# Retired master keys still able to unwrap, during a master-key rotation (comma-separated).
EGIDE_MASTER_KEYS_OLD = [k for k in (env.secret("EGIDE_MASTER_KEYS_OLD") or "").split(",") if k]
EGIDE_DEV_MASTER_KEY_FILE = VAR_DIR / "dev-master.key"
if not EGIDE_MASTER_KEY and not DEV:
    raise ImproperlyConfigured(
        "EGIDE_MASTER_KEY (32 random bytes, base64) or EGIDE_MASTER_KEY_FILE is required; "
        "generate one with: python -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())'"
    )


def _check_master_key(name: str, value: str) -> None:
    """Refuse a malformed master key at start, naming the variable, never echoing the value."""
    from kms.crypto import MasterKey, MasterKeyError  # pure: no Django, no settings

    try:
        MasterKey.from_base64(value)
    except MasterKeyError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from None


if EGIDE_MASTER_KEY:
    _check_master_key("EGIDE_MASTER_KEY", EGIDE_MASTER_KEY)
for _n, _old_key in enumerate(EGIDE_MASTER_KEYS_OLD, start=1):
    _check_master_key(f"EGIDE_MASTER_KEYS_OLD (key {_n})", _old_key)

# --- database ---
_default_db = f"sqlite:///{VAR_DIR / 'egide.sqlite3'}"
try:
    _db = dj_database_url.parse(env.text("DATABASE_URL") or _default_db, conn_max_age=60)
except (ValueError, KeyError) as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
if _db["ENGINE"] == "django.db.backends.sqlite3":
    Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # IMMEDIATE: a transaction takes the write lock at BEGIN, so two writers queue
    # instead of failing with "database is locked" when one upgrades a read lock.
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
    }
    _db["CONN_MAX_AGE"] = 0
elif _db["ENGINE"] in ("django.db.backends.postgresql",):
    _db["CONN_HEALTH_CHECKS"] = True
_db["ATOMIC_REQUESTS"] = False
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "guardian",
    "axes",  # login brute-force lockout (kms/security.py)
    "kms",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "kms.middleware.SecurityHeadersMiddleware",  # CSP and no-store, on every answer
    "kms.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "kms.security.PasswordPathMiddleware",  # per-address rate on every password path; who acts
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into kms.security.lockout_response
]

ROOT_URLCONF = "egide_site.urls"
WSGI_APPLICATION = "egide_site.wsgi.application"

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
                "kms.web.common.navigation",
            ],
        },
    },
]

AUTHENTICATION_BACKENDS = [
    "kms.security.LoginLockoutBackend",  # first: a locked-out login is refused before the password
    # Django's ModelBackend, the session's user read with a kept statement (kms.web.session_store)
    "kms.web.session_store.UserBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user; anonymous requests get nothing

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Only if present: a checkout without its own assets must still pass `check --deploy` (W004).
STATICFILES_DIRS = [path for path in [BASE_DIR / "static"] if path.is_dir()]
STATIC_ROOT = VAR_DIR / "static"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

# --- HTTPS. EGIDE_HTTPS=0 only behind a TLS-terminating proxy on a trusted network. ---
EGIDE_HTTPS = env.boolean("EGIDE_HTTPS", not DEV)
if env.boolean("EGIDE_TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = EGIDE_HTTPS and env.boolean("EGIDE_SSL_REDIRECT", True)
# Behind a TLS-terminating proxy the browser still speaks HTTPS: cookies stay Secure.
# Plain-HTTP development (EGIDE_DEV=1) is the only exception.
SESSION_COOKIE_SECURE = not DEV or EGIDE_HTTPS
CSRF_COOKIE_SECURE = not DEV or EGIDE_HTTPS
SECURE_HSTS_SECONDS = env.integer("EGIDE_HSTS_SECONDS", 31536000 if EGIDE_HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = EGIDE_HTTPS
SECURE_HSTS_PRELOAD = EGIDE_HTTPS and env.boolean("EGIDE_HSTS_PRELOAD", True)
SESSION_COOKIE_HTTPONLY = True
SESSION_ENGINE = "kms.web.session_store"  # Django's database sessions, loaded with a kept statement
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "kms.api.errors.csrf_failure"  # JSON under /v1/
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SILENCED_SYSTEM_CHECKS = []
if not EGIDE_HTTPS and not DEV:
    # Documented choice: TLS is terminated in front of Egide (README, "Behind a proxy").
    SILENCED_SYSTEM_CHECKS += ["security.W004", "security.W008"]
elif not SECURE_SSL_REDIRECT and not DEV:
    SILENCED_SYSTEM_CHECKS += ["security.W008"]  # the proxy redirects http to https

# --- login brute force (django-axes, glued in kms/security.py; docs/security.md) ---
# Failures are counted per (username, client address) in the database, so every node
# shares them; past the limit that pair is refused for the cool-off, right password or not.
AXES_FAILURE_LIMIT = env.integer("EGIDE_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env.integer("EGIDE_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "kms.security.client_address"  # REMOTE_ADDR, never X-Forwarded-For
AXES_LOCKOUT_CALLABLE = "kms.security.lockout_response"
AXES_RESET_ON_SUCCESS = True  # a successful page/admin login clears that pair's count
AXES_DISABLE_ACCESS_LOG = True  # successes and failures are already in Egide's audit trail
AXES_VERBOSE = False

# --- Egide behaviour ---
# Upper bounds: past them a date overflows (a 500 on every delete) or nothing can be approved.
EGIDE_DELETION_WINDOW_DAYS = env.integer("EGIDE_DELETION_WINDOW_DAYS", 30, minimum=1, maximum=3650)
EGIDE_APPROVALS_REQUIRED_DEFAULT = env.integer(
    "EGIDE_APPROVALS_REQUIRED_DEFAULT",
    0,
    minimum=0,
    maximum=10,  # keys.MAX_APPROVALS
)
EGIDE_APPROVAL_TTL_HOURS = env.integer("EGIDE_APPROVAL_TTL_HOURS", 24, minimum=1, maximum=24 * 366)
# How many approval requests one requester may have waiting, all keys together (no flooding).
EGIDE_APPROVALS_MAX_PENDING = env.integer("EGIDE_APPROVALS_MAX_PENDING", 20, minimum=1, maximum=10_000)
# NIST SP 800-38D: at most 2^32 encryptions under one key with random 96-bit nonces.
# A version is rotated once it reaches this share of the limit (default 2^30, a quarter).
EGIDE_AES_MAX_ENCRYPTIONS = env.integer("EGIDE_AES_MAX_ENCRYPTIONS", 2**30, minimum=1, maximum=2**32)
EGIDE_KEY_CACHE_SIZE = env.integer("EGIDE_KEY_CACHE_SIZE", 4096, minimum=0)
# API tokens: the lifetime of a token created without one (like Vault's default TTL);
# 0 = such tokens never expire. Explicit lifetimes are bounded by 10 years.
EGIDE_TOKEN_TTL_DAYS = env.integer("EGIDE_TOKEN_TTL_DAYS", 30, minimum=0, maximum=3650)
# /v1/schema and /v1/docs: an authenticated user (session or token) unless opened here.
EGIDE_API_DOCS_PUBLIC = env.boolean("EGIDE_API_DOCS_PUBLIC", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler", "stream": sys.stderr}},
    "root": {"handlers": ["console"], "level": env.text("EGIDE_LOG_LEVEL", "INFO").upper()},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- API (DRF) ---
# Rates as "N/s", "N/min", "N/hour"; per API token, per client address, and for password logins.
EGIDE_THROTTLE_TOKEN = env.text("EGIDE_THROTTLE_TOKEN", "200000/min")
EGIDE_THROTTLE_ADDRESS = env.text("EGIDE_THROTTLE_ADDRESS", "400000/min")
EGIDE_THROTTLE_LOGIN = env.text("EGIDE_THROTTLE_LOGIN", "20/min")
REST_FRAMEWORK = {
    "EXCEPTION_HANDLER": "kms.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "token": EGIDE_THROTTLE_TOKEN,
        "address": EGIDE_THROTTLE_ADDRESS,
        "login": EGIDE_THROTTLE_LOGIN,
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Egide KMS API",
    "DESCRIPTION": "Keys that never leave Egide: encrypt, decrypt, sign, verify, rotate, audit.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_AUTHENTICATION": ["kms.api.auth.BearerTokenAuthentication", "kms.api.auth.SessionAuthentication"],
    "SERVE_PERMISSIONS": ["kms.api.auth.DocsPermission"],  # EGIDE_API_DOCS_PUBLIC opens them
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- data plane (kms/dataplane): see docs/dataplane.md ---
# How stale cached token/key/grant state may be, at most (0 = strict: checked every request).
# On PostgreSQL a NOTIFY also drops the caches at once, well inside this window.
EGIDE_STATE_WINDOW_MS = env.integer("EGIDE_STATE_WINDOW_MS", 250, minimum=0)
if EGIDE_STATE_WINDOW_MS > 1000:
    raise ImproperlyConfigured("EGIDE_STATE_WINDOW_MS is at most 1000 (a revocation must bite within 1 s)")
# Where data-plane audit events go first: "spool" (a per-node append-only file, written before
# the answer, shipped into the chained audit table) or "table" (the chained row, per request).
EGIDE_AUDIT_SINK = env.text("EGIDE_AUDIT_SINK", "spool")
if EGIDE_AUDIT_SINK not in ("spool", "table"):
    raise ImproperlyConfigured("EGIDE_AUDIT_SINK must be 'spool' or 'table'")
EGIDE_AUDIT_SPOOL_DIR = Path(env.text("EGIDE_AUDIT_SPOOL_DIR") or VAR_DIR / "audit-spool")
EGIDE_AUDIT_SHIP_INTERVAL_MS = env.integer("EGIDE_AUDIT_SHIP_INTERVAL_MS", 500, minimum=10)
# Who ships the spool: "process" (a thread in each server process ships its own file: `make run`,
# tests) or "node" (one shipping process per node ships the whole directory, so the serving
# workers spend no CPU or GIL on it: what scripts/serve runs, `manage.py kms_audit_ship --follow`).
EGIDE_AUDIT_SHIPPER = env.text("EGIDE_AUDIT_SHIPPER", "process")
if EGIDE_AUDIT_SHIPPER not in ("process", "node"):
    raise ImproperlyConfigured("EGIDE_AUDIT_SHIPPER must be 'process' or 'node'")
# fsync the spool before answering (power-loss durable; slower). Default: written with write(2)
# before the answer (survives a killed process), fsynced by the shipper on each pass.
EGIDE_AUDIT_FSYNC = env.boolean("EGIDE_AUDIT_FSYNC", False)
