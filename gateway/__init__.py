"""Hàng Chờ gateway: the center's Raspberry Pi service around the dispatch core."""

__version__ = "0.1.0"
