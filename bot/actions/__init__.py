"""Custom actions for the Rasa assistant: thin clients of the service's knowledge and loan APIs."""
