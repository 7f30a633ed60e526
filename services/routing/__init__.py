"""routing: turns each intake into one referral per need, on the topic of the agency that acts."""
