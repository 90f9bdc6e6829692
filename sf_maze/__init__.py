"""Sample Factory 2.x integration: env and model registration, APPO + V-trace training."""
