"""A seeded, realistic demo advisory firm written as a CSV book (see :mod:`.firm`)."""
