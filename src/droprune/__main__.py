"""``python -m droprune`` runs the ``droprune`` command."""

import sys

from droprune.cli import main

sys.exit(main())
