"""The wire: how one message is encoded, enveloped, signed, bounded and refused.

Beside ``events/stream`` (how records move): a reader finds the codec, the envelope
headers, the MAC and the size limits here without the loops around them.
"""
