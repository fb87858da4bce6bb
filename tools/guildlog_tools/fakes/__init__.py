"""Stand-ins for outside services (Discord's REST API) on loopback, for the tests, the local stack and rehearsals."""
