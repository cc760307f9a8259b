"""`python -m server` runs the `gigmetrics` command."""

import sys

from .cli import main

# Guarded: `serve --workers N` spawns processes that import this module again.
if __name__ == "__main__":
    sys.exit(main())
