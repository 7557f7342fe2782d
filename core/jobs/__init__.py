"""Background jobs: a jobs table claimed by workers, with retries."""
