"""`guildlog doctor`: is a deployed stack (or the local one) healthy, check by check, each with its fix.

`target.py` finds what the checks read (a stack's outputs, parameters and resources, or the local
stack's dev file); `checks.py` holds the checks and runs them.
"""
