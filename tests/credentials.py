"""Credentials the tests give the services they start."""

# The app backend's key: the backend may speak for any citizen it names.
APP_API_KEY = "test-app-backend-key"
APP_HEADERS = {"X-Api-Key": APP_API_KEY}

# The action server's key (BOT_API_KEY): only the bot queues a citizen for a person.
BOT_API_KEY = "test-action-server-key"
BOT_HEADERS = {"X-Bot-Key": BOT_API_KEY}
