import pytest

from tests.standins.telegram_server import telegram_api  # noqa: F401 (a fixture)


@pytest.fixture
def telegram_on(app, telegram_api):  # noqa: F811 (the fixture above)
    saved = {key: app.config.get(key) for key in telegram_api.config()}
    app.config.update(telegram_api.config())
    yield telegram_api
    app.config.update(saved)
