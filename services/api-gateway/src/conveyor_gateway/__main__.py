"""``python -m conveyor_gateway``."""

from .app import main

main()
