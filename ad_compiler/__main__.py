"""`python -m ad_compiler` runs the command line (see ad_compiler.cli)."""

import sys

from .cli import main

sys.exit(main())
