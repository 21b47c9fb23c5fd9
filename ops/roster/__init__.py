"""The director roster, an ops tool run from a laptop, never shipped to Lambda: its CSV format, the
sync against the Directors table, the command line and the synthetic roster."""
