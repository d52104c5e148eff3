"""Thermal Scout's user interfaces: the Textual app and the command line.

Importing this package imports nothing heavy; ``tui.cli`` loads Textual only to open the TUI.
"""
