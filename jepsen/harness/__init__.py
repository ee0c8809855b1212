"""The fault-injection harness behind jepsen/run.py (standard library only; run with /usr/bin/python3)."""
