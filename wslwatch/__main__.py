"""`python -m wslwatch` runs the command line."""

import sys

from wslwatch.daemon.cli import main

sys.exit(main())
