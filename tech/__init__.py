"""Technician tools (`hangcho-tech`): find, flash, provision and check a center's boards."""
