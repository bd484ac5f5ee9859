"""The peers' side of the benchmark: runs in the separate ``.bench-peers/`` venv, never in Conveyor's.

Nothing here is imported by Conveyor's environment: ``bench/peers_setup.py`` runs
``python -m bench.peers.driver`` with the peers' interpreter.
"""
