"""``python -m conveyor_logs``."""

from .app import main

main()
