"""The inbox watcher: how files arrive, when a batch is taken, and where it is filed."""
