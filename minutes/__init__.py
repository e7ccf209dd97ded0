"""Minutes (biên bản): the draft the secretary keeps during the meeting, its conclusions,
and the signing state. A sans-I/O core registered into the room like documents and polls;
the official PDF and the signatures are made by `signing/`.
"""
