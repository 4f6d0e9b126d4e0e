"""The web console on the gateway's HTTP port (docs: README, section Console)."""
