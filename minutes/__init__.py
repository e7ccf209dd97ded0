"""Minutes (biên bản): the draft the secretary keeps during the meeting, its conclusions,
and the signing state. A sans-I/O core plugged into the room like documents and polls
(`minutes.room.PLUGIN`); the official PDF and the signatures are made by `signing/`.
"""
