"""Adapters of supervision: the alerts sink and the faust table codec."""
