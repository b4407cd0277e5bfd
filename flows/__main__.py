"""``python -m flows <experiment> <stage> [--params params.yaml]``: one stage of one experiment (flows.entry)."""

import sys

from flows.entry import stage_main

sys.exit(stage_main())
