"""One contract test class per port (eventsourcing's shape: abstract recorder tests run
against every adapter). Each class here asks for its adapter through abstract fixtures;
``tests/unit/ports/test_memory.py`` runs them against the in-memory fakes and
``tests/integration/ports/test_postgres.py`` against PostgreSQL. Nothing here is collected
on its own: the classes are named ``*Contract``, not ``Test*``."""
