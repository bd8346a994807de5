"""The router: consumes user turns, asks the primary model, runs fast tools inline, replies."""
