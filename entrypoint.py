"""The container's entry point: everything lives in the `acr_action` package."""

from __future__ import annotations

import os
import sys

from acr_action.__main__ import main

if __name__ == "__main__":
    sys.exit(main(os.environ))
