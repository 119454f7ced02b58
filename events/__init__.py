"""Events: topic catalog, envelope and codec, signing, Kafka client factories."""
