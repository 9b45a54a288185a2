"""``python -m master [flags]`` = ``election master [flags]``."""

import sys

from master.cli import main

sys.exit(main())
