"""Monthly sales targets per salesperson, and how the digest sets them against the actuals."""
