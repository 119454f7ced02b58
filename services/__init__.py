"""Services: one package per stream processor (pure core + thin adapters), plus runtime and CLI."""
