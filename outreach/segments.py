"""Segments: who gets what, as rules in `policy/segments/*.yml`. Loading and checking the files is
`outreach.segment_rules`; streaming the centre's data through a rule is `outreach.segment_eval`.
This module is the one name the rest of the code imports."""
from __future__ import annotations

from outreach.segment_eval import EventError, Match, PeopleSource, evaluate, mask_mobile, mask_name, preview
from outreach.segment_rules import CHANNELS, FACTS, Segment, SegmentError, load_segments

__all__ = [
    "CHANNELS", "FACTS", "EventError", "Match", "PeopleSource", "Segment", "SegmentError", "evaluate",
    "load_segments", "mask_mobile", "mask_name", "preview",
]
