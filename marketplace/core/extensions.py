"""Extensions, created unbound and initialised in create_app."""
from flask_babel import Babel
from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from marketplace.core.db import Base

db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
#: The shared cache (the page cache's version): Redis with REDIS_URL, else a folder or in process.
cache = Cache()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
