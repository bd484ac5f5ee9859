"""Conveyor scheduler: folds events into job projections and decides job state."""
