"""Run the tap with ``python -m tap_microsoft365``."""

from tap_microsoft365.tap import main

main()
