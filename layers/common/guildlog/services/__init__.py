"""Pure logic, no I/O: categories, normalization, partitions, CSV, hot items, commands."""
