"""The contract every layer shares: errors, options, results, panel validation."""
