"""Every Kafka topic name, in one place.

One topic per agency keeps each agency an independent consumer: its own group, its own lag,
and later its own ACL. A deployment can namespace all topics with a prefix (used by tests so
that runs never read each other's messages).
"""

from dataclasses import dataclass

from shared.agencies import AGENCIES, Agency

DEAD_LETTER_SUFFIX = ".dlq"


@dataclass(frozen=True, slots=True)
class Topics:
    prefix: str = ""

    def _name(self, base: str) -> str:
        return f"{self.prefix}{base}"

    @property
    def intake_submitted(self) -> str:
        return self._name("intake.submitted")

    def referral_assigned(self, agency: Agency) -> str:
        return self._name(f"referral.assigned.{agency}")

    @property
    def referral_updated(self) -> str:
        return self._name("referral.updated")

    @property
    def referral_routed(self) -> str:
        """Where each referral went, without the person: what intake needs to show statuses."""
        return self._name("referral.routed")

    @property
    def referral_unroutable(self) -> str:
        return self._name("referral.unroutable")

    @property
    def referral_overdue(self) -> str:
        return self._name("referral.overdue")

    @property
    def report_published(self) -> str:
        return self._name("report.published")

    @property
    def person_keys(self) -> str:
        """Each person's key, wrapped (compacted, keyed by person_ref): what opens their sealed data."""
        return self._name("person.keys")

    def all_assigned(self) -> list[str]:
        return [self.referral_assigned(agency) for agency in AGENCIES]

    def all_event_topics(self) -> list[str]:
        return [
            self.intake_submitted,
            *self.all_assigned(),
            self.referral_routed,
            self.referral_updated,
            self.referral_unroutable,
            self.referral_overdue,
            self.report_published,
        ]

    @property
    def person_erasures(self) -> str:
        """Erasures asked for (by person_ref): every service deletes what it holds of the person."""
        return self._name("person.erasures")

    @property
    def person_erasures_confirmed(self) -> str:
        return self._name("person.erasures.confirmed")

    @property
    def person_consents(self) -> str:
        """Consents a person withdrew (by person_ref): what is sent outside Songtor for them stops."""
        return self._name("person.consents")

    def person_topics(self) -> list[str]:
        """The person's own topics: keys, erasures and withdrawn consents."""
        return [self.person_keys, self.person_erasures, self.person_erasures_confirmed, self.person_consents]

    def published_topics(self) -> list[str]:
        """Every topic a service publishes on: the event topics and the person's. Kept apart
        because only the event topics are the ops view's business (lag, re-drives)."""
        return [*self.all_event_topics(), *self.person_topics()]

    def all_topics(self) -> list[str]:
        """Published topics and their dead-letter twins: what a fresh cluster must have."""
        published = self.published_topics()
        return [*published, *(dead_letter_topic(name) for name in published)]


def dead_letter_topic(topic: str) -> str:
    return f"{topic}{DEAD_LETTER_SUFFIX}"


if __name__ == "__main__":  # `python -m shared.topics` feeds the broker script's topic list
    import os

    for name in Topics(prefix=os.environ.get("KAFKA_TOPIC_PREFIX", "")).all_topics():
        print(name)
