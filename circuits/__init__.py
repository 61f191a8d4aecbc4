"""Circuits: each defined once, realized as rate (numpy) and spiking (Brian2)."""
