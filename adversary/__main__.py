"""``python -m adversary [flags]`` = ``election adversary [flags]``."""

import sys

from adversary.cli import main

sys.exit(main())
