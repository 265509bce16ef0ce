"""``python -m simlib``: the same as the ``simlib`` command."""

import sys

from simlib.cli.main import main

sys.exit(main())
