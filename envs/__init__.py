"""Gymnasium memory-task environments, registered under the ``ssmn`` namespace."""
