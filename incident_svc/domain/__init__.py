"""Pure logic: no I/O, no database, no network. Everything here is testable with plain values."""
