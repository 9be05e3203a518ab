"""Local stand-ins on 127.0.0.1 for what cannot be reached from here, speaking the real protocols
(Rasa's REST webhook, WeChat's API and signatures), and the settings for Debian's headless Chromium.
Used by the tests and the benchmarks; nothing in the product imports them."""
