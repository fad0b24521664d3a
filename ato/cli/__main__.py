"""`python -m ato.cli ...`: what the DAG tasks run (the interpreter of the venv, no PATH lookup)."""

import sys

from ato.cli import main

sys.exit(main())
