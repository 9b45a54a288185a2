"""``python -m worker [flags]`` = ``election worker [flags]``."""

import sys

from worker.cli import main

sys.exit(main())
