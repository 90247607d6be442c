"""The app as gunicorn serves it in test_throttle_workers.py: limits on, one trusted proxy,
counters in the Redis the test started; each response names the worker that served it."""
import os

from marketplace.cli import create_app

app = create_app({
    "BASE_CONFIG": "testing",
    "SQLALCHEMY_DATABASE_URI": os.environ["THROTTLE_TEST_DATABASE_URL"],
    "MEDIA_ROOT": os.environ["THROTTLE_TEST_MEDIA_ROOT"],
    "REDIS_URL": os.environ["THROTTLE_TEST_REDIS_URL"],
    "RATE_LIMITS_ON": True,
    "TRUSTED_PROXIES": 1,
    "PAGE_CACHE_SECONDS": 0,
})


@app.after_request
def _name_the_worker(response):
    response.headers["X-Worker"] = str(os.getpid())
    return response
