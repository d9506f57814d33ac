"""Personal data kept no longer than needed: retention with keyed pseudonyms, and one
person's access export and erasure.
"""
