"""WSGI entry point (`gunicorn config.wsgi`): production settings by default.

Importing this module imports the `config` package first, whose Celery app
sets the same default (config/celery.py), so both entry points agree.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_wsgi_application()
