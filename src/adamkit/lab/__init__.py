"""The lab: optimizer races on classic test functions, many configurations at once."""
