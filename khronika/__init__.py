"""khronika: an event-sourced chronicle of legal and political facts."""

__version__ = "0.1.0"
