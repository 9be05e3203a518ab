"""Human agents: the waiting pool and grab-the-line claims, roster and shifts, the console.

The foundation only answers whether a person is available; the pool and console build on it.
"""
