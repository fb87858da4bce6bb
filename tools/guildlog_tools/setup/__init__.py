"""`guildlog setup`: from a bot token and AWS credentials to a deployed, registered, checked logger.

`wizard.py` runs the steps in order (each says what it did, or why it stopped and how to fix it);
`deploy.py` deploys the stack with `sam` or with CloudFormation directly.
"""
