"""agency_adapters: one independent consumer per agency; the agencies' workbench API."""
