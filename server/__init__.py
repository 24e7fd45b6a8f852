"""The central server: the province watches every center, fed by the gateways' sync (issue #5)."""
