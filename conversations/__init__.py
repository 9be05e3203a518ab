"""The conversation domain: one model for every channel (citizens, identities, conversations,
messages), the hub that stores a message before the bot answers it, lifecycle transitions, the reply
shape and the Rasa client."""
