import sys

from lt_lab.cli import main

sys.exit(main())
