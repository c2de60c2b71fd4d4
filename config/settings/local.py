"""Local development: `make run`. Debug on, a throw-away secret."""

from config.structured_logs import logging_config

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="local-dev-only-not-secret-rapport")  # noqa: S105
LOGGING = logging_config(
    json_lines=env.bool("LOG_JSON", default=False), level=env("LOG_LEVEL", default="INFO")
)
