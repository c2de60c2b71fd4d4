"""Local development: `make run`. Debug on, a throw-away secret."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="local-dev-only-not-secret-rapport")  # noqa: S105
