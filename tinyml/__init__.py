"""tinyml: from data to a validated microcontroller firmware, in one pipeline.

Stages, each a subpackage handing an artifact to the next: datasets, features, train, convert,
compile, firmware, flash, validate. `tinyml.boards` describes the targets and `tinyml.link`
is the serial protocol the firmware speaks.
"""

__version__ = "0.1.0"
