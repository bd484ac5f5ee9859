"""Conveyor hook-dispatcher."""
