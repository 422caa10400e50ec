"""Mailing-list behaviour, sans-I/O: see logic.py for the interface."""
