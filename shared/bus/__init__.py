"""Everything that crosses Redis: key names, the turn stream, responses, tasks, stores.

Services and tools read and write Redis only through this package; what each module owns is
the writer and the reader of one protocol, side by side.
"""
