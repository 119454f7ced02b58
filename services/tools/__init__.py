"""Tools: benchmarks and the traffic simulator.

Never imported by product code (tests/unit/architecture/test_layers.py checks it);
only the CLI mounts their commands.
"""
