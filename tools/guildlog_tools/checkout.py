"""Where the guildlog checkout is: the one place the tooling finds template.yaml, events/ and functions/.

The tools run from a checkout (`pip install -e .`), since the local stack serves that checkout's
template and function files. The checkout is the nearest folder holding `template.yaml`, looked for
from this package's own location upwards, then from the current directory upwards.
"""

from __future__ import annotations

from pathlib import Path

from guildlog.errors import ConfigurationError

TEMPLATE_FILE = "template.yaml"


def checkout_root() -> Path:
    """The folder holding template.yaml; ConfigurationError naming where it looked when there is none."""
    starts = [Path(__file__).resolve().parent, Path.cwd().resolve()]
    for start in starts:
        for folder in (start, *start.parents):
            if (folder / TEMPLATE_FILE).is_file():
                return folder
    raise ConfigurationError(
        "no guildlog checkout found (a folder holding template.yaml): run from the repository, "
        "installed with `pip install -e .`",
        looked_in=[str(s) for s in starts],
    )
