"""Third-party model feeds: manager model files and HTTP change notices, with a loopback sandbox manager.

An installable smartx plugin distribution, discovered through the `smartx` entry-point group.
It uses only smartx_engine's public API, exactly as a third party's plugin would.
"""
