"""Leaders: runs of dots or dashes between a label and its value ("TOTAL.......RM").

The recogniser emits one character per 8 pixels of its 48-pixel-high input
and needs a blank between two equal characters, so dots closer than about 16
pixels there merge: "TOTAL AMT................" came back as "TOTAL AMT.". A
line whose reading may hold a collapsed run (its box much wider than its
reading needs) is read again stretched wider, and the stretched reading is kept
only when it is the same text with longer runs of the same marks: nothing else
in the line may change.
"""

import re
import unicodedata

LEADER_MARKS = ".-_=*·…"
_RUN = re.compile(f"([{re.escape(LEADER_MARKS)}])\\1*")


def may_hold_leaders(text, width, height, room):
    """Whether a line read as ``text`` may have lost part of a run of leader marks.

    It holds a mark, and its box is ``room`` times as wide as ``text`` needs (a
    wide character about as wide as the line is high, any other half that):
    sentences ending in a full stop fill their boxes.
    """
    return any(mark in text for mark in LEADER_MARKS) and width >= room * height * _widths(text)


def holds_longer_leaders(old, new, shortest_run):
    """Whether ``new`` is ``old`` with its runs of leader marks longer, one at least ``shortest_run`` long."""
    return (
        _RUN.sub(r"\1", new) == _RUN.sub(r"\1", old)
        and _longest_run(new) >= shortest_run
        and _longest_run(new) > _longest_run(old)
    )


def _widths(text):
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.5 for c in text)


def _longest_run(text):
    return max((len(match.group(0)) for match in _RUN.finditer(text)), default=0)
