"""Recognition: the engine, its models, inference sessions, batches and orientation."""
