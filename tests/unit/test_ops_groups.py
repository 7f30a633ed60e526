"""The lag scan's map of consumer groups (reporting.ops.groups) against the groups and topics
the four services really subscribe: a consumer added or renamed in a service without the map
would show no lag until it first commits, exactly when operations need to see it."""

from reporting.ops.groups import agency_group, known_groups
from shared.settings import KafkaSettings
from tests.support.subscriptions import subscriptions

KAFKA = KafkaSettings(topic_prefix="unit.", group_prefix="ops-test.")


def subscribed_groups() -> dict[str, tuple[str, ...]]:
    """Group -> topics across the four services (a group name is never shared between them)."""
    found: dict[str, tuple[str, ...]] = {}
    for groups in subscriptions(KAFKA).values():
        assert not set(groups) & set(found), "two services share a consumer group"
        found.update(groups)
    return found


def test_the_scan_knows_every_consumer_group_the_services_run_and_the_topics_each_reads():
    expected = {group: tuple(sorted(topics)) for group, topics in known_groups(kafka=KAFKA).items()}
    assert subscribed_groups() == expected


def test_each_agency_s_group_is_the_one_its_consumer_commits_under():
    groups = subscribed_groups()
    for agency in ("employment", "skills", "welfare", "social_security"):
        assert groups[agency_group(kafka=KAFKA, agency=agency)] == (KAFKA.topics.referral_assigned(agency),)
