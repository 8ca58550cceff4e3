"""Fidelity custodian: FDX account data, Wealthscape-style order and allocation files, and a loopback sandbox.

An installable smartx plugin distribution, discovered through the `smartx` entry-point group.
It uses only smartx_engine's public API, exactly as a third party's plugin would.
"""
