"""What every hybridbot service shares: settings, bus messages, Redis names, speech text helpers."""
