"""`python -m guildlog.cli`: the same as the `guildlog` command."""

import sys

from guildlog.cli import main

sys.exit(main())
