"""The whole system on one machine: Mosquitto with the center's accounts, gateway processes,
boards on the MicroPython unix port, the central server. Used by the demo, the benchmarks, the
fault runs and the tests."""
