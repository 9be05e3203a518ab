"""The WeChat Official Account channel (公众号): the assistant and the agents, on WeChat's terms.

edge.py checks and opens what WeChat posts; inbound.py converts it to the hub's model; turns.py
answers within WeChat's 5 seconds or pushes later; render.py fits replies to WeChat; outbox.py
pushes through the customer-service API; api.py and tokens.py talk to WeChat's API with one shared
access token; menu.py (also a command), oauth.py, notices.py and articles.py serve the rest;
routes.py gathers the routes.
"""
