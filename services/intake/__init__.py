"""intake: takes in a person's needs over HTTP, validates them and publishes intake.submitted."""
