import sys

from tuner._cli import main

sys.exit(main())
