"""Conveyor API gateway: HTTP calls become events; reads come from projections."""
