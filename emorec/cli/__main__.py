import sys

from emorec.cli import main

sys.exit(main())
