"""Store-and-forward sync to the central server (docs/sync.md): what to send, and sending it."""
