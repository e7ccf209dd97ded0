"""Voting: polls, ballot rules (base and fraction per poll, exact integers), the ballot box
beside the room log, and the tally. A sans-I/O core like `rooms/`.
"""
