import sys

from election_cli.main import main

sys.exit(main())
