from tests.notifications.conftest import telegram_api, telegram_on  # noqa: F401 (fixtures)
