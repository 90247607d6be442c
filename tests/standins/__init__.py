"""Loopback stand-ins for third-party services that cannot run here (see README.md)."""
