"""Month close: each form frozen on its due day as a numbered version, amended (never silently
edited) when the facts change afterwards, and announced on `report.published`."""
