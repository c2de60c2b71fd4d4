"""gunicorn settings, read from the working directory by default
(https://docs.gunicorn.org/en/stable/settings.html#config-file).

The access log never holds personal data: the request line is logged as
method and path only (`%(U)s`, no query string: `lookup/?phone=...` and
`customers/?q=...` carry callers' numbers and names), and the referrer, which
would repeat such URLs, is left out.
"""

accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(D)sus "%(a)s"'
