"""Files the operator hands in or asks for: bounded, checked reads and atomic, private writes."""
