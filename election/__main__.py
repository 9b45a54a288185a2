import sys

from election.cli import main

sys.exit(main())
