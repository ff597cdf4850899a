import sys

from mgrfaults.cli import main

sys.exit(main())
