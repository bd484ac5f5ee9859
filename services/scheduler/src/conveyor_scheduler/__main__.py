"""``python -m conveyor_scheduler``."""

from .app import main

main()
