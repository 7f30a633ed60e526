"""An outbox relay that publishes nothing: unit tests that look at the outbox rows a change wrote
(publishing is not what they are about) hand it where a service wires its OutboxRelay."""


class RelayLeftForLater:
    """The outbox rows stay pending; counts how often it was woken, as a committed change does."""

    def __init__(self) -> None:
        self.woken = 0

    def wake(self) -> None:
        self.woken += 1

    async def flush(self) -> int:
        return 0
