"""``python -m warpkit``: the ``warpkit`` command (see :mod:`warpkit.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
