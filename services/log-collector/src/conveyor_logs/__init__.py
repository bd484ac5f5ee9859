"""Conveyor log-collector."""
