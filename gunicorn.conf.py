"""gunicorn's settings for the portal in production: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every address and size comes from the environment, so the same file serves any deployment:

- `GUNICORN_BIND` (default 127.0.0.1:8000): where the proxy reaches this node.
- `WEB_CONCURRENCY` (default 2): sync worker processes. More than one needs the rate limits
  in Redis (`RATELIMIT_STORAGE_URI`); production refuses an in-memory store then.
- `GUNICORN_TIMEOUT` (default 60 s): a worker silent this long is restarted (an upload of
  `UPLOAD_MAX_MB` on a slow phone is read by the proxy first, so the app gets it at once).
- `FORWARDED_ALLOW_IPS` (default 127.0.0.1): who may set the forwarded scheme headers; the
  client address comes from `X-Forwarded-For` through the app's `TRUSTED_PROXY_COUNT`.

The access log holds no secret: the invitation, e-mail confirmation, reset and set-password
links carry one-time tokens in their paths, and the logger class cuts them out of the request
line, path, query and referrer (and out of error messages that name a request's URI); the line
leaves out query strings, referrers and user agents altogether.
"""

import os
import time

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
max_requests = 5000  # a worker is replaced now and then (a slow leak cannot grow for ever)
max_requests_jitter = 2500  # workers that started together are not all replaced together
# The app is loaded once in the master and each worker is forked from it: a replaced worker
# serves at once (no second import of the whole app on a busy machine) and the workers share
# the loaded code's memory. Nothing connects while the app is made; each worker drops the
# database pool's (empty) state it inherited, so no connection is ever shared across a fork.
preload_app = True


def when_ready(server):
    # Compile every template once in the master, before any worker is forked: each worker (and
    # each one that replaces another) starts with them, instead of compiling a page's templates
    # on its first request for it (tens of milliseconds each, on a node that is busy already).
    app = server.app.wsgi()
    if hasattr(app, "jinja_env"):
        with app.app_context():
            for name in app.jinja_env.list_templates(extensions=("html", "txt")):
                app.jinja_env.get_template(name)


def post_fork(server, worker):
    from portal.extensions import db

    app = server.app.wsgi()  # the app the master loaded (wsgi:app, or portal:create_app())
    if hasattr(app, "app_context"):
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose(close=False)


def pre_request(worker, req):
    # The access line's CPU milliseconds (portal.logs.GunicornLogger's %(C)s atom).
    req.cpu_started = time.thread_time()


forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# A unix socket (GUNICORN_BIND=unix:...) only its owner and group may connect to: whoever
# reaches a node's socket can claim any client address in X-Forwarded-For.
umask = 0o007
logger_class = "portal.logs.GunicornLogger"
# gunicorn's control socket is one per user by default: several nodes on one host would fight
# over it, and nothing here uses it (supervisord starts, stops and restarts the nodes).
control_socket_disable = True
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
# Address, method, path (secrets cut out) without the query string (a Find help search can
# name a place), status, bytes, milliseconds, the worker's CPU milliseconds: no referrer, no
# user agent.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms cpu=%(C)sms'
