"""`python -m guildlog_tools.cli`: the same as the `guildlog` command."""

import sys

from guildlog_tools.cli import main

sys.exit(main())
