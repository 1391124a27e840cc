"""``python -m chalicelib <verb>``: the operators' command line."""

import sys

from chalicelib.cli import main

sys.exit(main())
