"""``python -m tabfm.pretrain``."""

import sys

from tabfm.pretrain._cli import main

sys.exit(main())
