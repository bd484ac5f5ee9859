"""The isula-composer-server façade (issue 18): per-user build tasks, their output files and hooks."""
