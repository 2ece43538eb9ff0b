"""A local Azure for tests and the demo: see `server.Emulator`."""
