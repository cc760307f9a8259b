"""`python -m server` runs the `gigmetrics` command."""

import sys

from .cli import main

sys.exit(main())
