"""Built-in ssmn_rl plugins."""
