"""``python -m conveyor_hooks``."""

from .app import main

main()
