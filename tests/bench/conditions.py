"""The conditions a benchmark ran under, read from the machine rather than typed.

Every benchmark prints ``conditions()`` above its table, so a figure in README
always travels with the cores, load and versions it was measured with:

    from tests.bench.conditions import conditions
    print(conditions("rapidocr"))

Printed after the run, the 1-minute load average includes the benchmark's own
work; the 15-minute one shows what else the machine was doing.
"""

import os
import platform
import time
from importlib import metadata

# The engine stack every benchmark measures; callers name their peers on top.
ENGINE_PACKAGES = ("paddleocr", "paddlex", "onnxruntime")


def cores():
    """Cores this process may run on, and cores the machine has."""
    return len(os.sched_getaffinity(0)), os.cpu_count()


def load_average():
    """The kernel's 1, 5 and 15 minute load averages."""
    return os.getloadavg()


def versions(*packages):
    """``name version`` of Python and each installed distribution named (``-`` when absent)."""
    found = [f"python {platform.python_version()}"]
    for name in dict.fromkeys((*ENGINE_PACKAGES, *packages)):
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} -")
    return found


def conditions(*packages):
    """One line: date, cores, load average now, versions of the engine stack and of ``packages``."""
    usable, total = cores()
    one, five, fifteen = load_average()
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return (f"conditions: {when}; {usable} of {total} cores usable; "
            f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min); "
            + ", ".join(versions(*packages)))
