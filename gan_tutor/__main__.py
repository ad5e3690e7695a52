"""Entry point of ``python -m gan_tutor`` (see gan_tutor.cli)."""

import sys

from gan_tutor.cli import main

sys.exit(main())
