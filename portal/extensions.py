"""Module-level extension singletons, bound to an app in `create_app`."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from portal.domain.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
# Limits are opt-in per view (sign-in, invitations); the storage comes from settings. No
# X-RateLimit headers: they would tell a guesser how many tries are left, and Flask-Limiter
# would stretch a 503's Retry-After to the limit's window; the 429 page sets its own.
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=False)
