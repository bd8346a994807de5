"""The voice service: user turns out to the routers, bot events back to speech (or a console)."""
