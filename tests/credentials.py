"""Credentials the tests give the services they start."""

# The app backend's key: the backend may speak for any citizen it names.
APP_API_KEY = "test-app-backend-key"
APP_HEADERS = {"X-Api-Key": APP_API_KEY}
