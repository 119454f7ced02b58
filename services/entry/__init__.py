"""Entry points: the ``yidi`` CLI and ``bootstrap`` (which wires workers).

The only product packages allowed to import tools and every processor at once.
"""
