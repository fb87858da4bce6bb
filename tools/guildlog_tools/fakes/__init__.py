"""Stand-ins for outside services (Discord's REST API) on loopback, for the tests and rehearsals."""
