"""好差评: ratings on every channel, rectification of bad ratings, analysis, and the agents' standing."""
