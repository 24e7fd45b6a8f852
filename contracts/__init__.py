"""The rules that cross a process boundary, in one place every part imports.

A board, the gateway, the technician's tools and the central server each read what another
wrote; the grammar of what they exchange lives here and nowhere else:

- `ids`: the grammar of center ids, device ids, service codes, priority classes, ticket numbers
  and event ids, and the names no device may take (the gateway's own account, the tools').
- `topics`: the MQTT topic tree: prefix, version, each leaf and who writes it, the commands.
- `answers`: what an ack says: its shape and every reason code a refusal can carry.
- `validation`: `ConfigError` and the checks the three TOML loaders share (center, board
  profile, server settings), so every refusal names file, key and reason the same way.
- `sync`: the batch a gateway sends the province: its builder and the server's checker.

Nothing here does I/O or imports another part of the project. The firmware cannot import it
(it runs on MicroPython): tests/test_contracts.py checks the firmware's own literals against it.
"""
