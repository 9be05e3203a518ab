"""Outreach: outbound-call campaigns, the dialer, notices and signed business handoff links.

Not built yet: see the README's roadmap. Kept as a package so the layout matches the design.
"""
