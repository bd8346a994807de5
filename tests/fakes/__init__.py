"""Real HTTP servers on loopback that speak the protocols of the services hybridbot calls."""
