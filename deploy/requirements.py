"""Print the pinned requirements of setup.cfg (and the named extras), one per line.

``make`` and the Dockerfile both install from this list, so setup.cfg stays the
single place where versions are pinned.
"""

import configparser
import sys
from pathlib import Path


def requirements(extras=()):
    config = configparser.ConfigParser()
    config.read(Path(__file__).resolve().parent.parent / "setup.cfg")
    blocks = [config["options"]["install_requires"]]
    blocks += [config["options.extras_require"][extra] for extra in extras]
    lines = (line.strip() for block in blocks for line in block.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


if __name__ == "__main__":
    print("\n".join(requirements(sys.argv[1:])))
