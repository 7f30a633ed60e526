"""Which consumer groups read which topics: the map the lag scan walks.

Written down rather than only discovered on the broker, because a group that has never
committed (an agency's consumer not yet deployed, or stopped before its first commit) is
invisible to the broker, while its whole topic waits for it: exactly the case operations must
see. Groups the broker knows under our prefix but this map does not are added by the scan.
"""

from shared.agencies import AGENCIES, Agency
from shared.settings import KafkaSettings


def agency_group(*, kafka: KafkaSettings, agency: Agency) -> str:
    # Must match agency_adapters.handlers (consumer f"agency.{agency}").
    return kafka.group(f"agency.{agency}")


def known_groups(*, kafka: KafkaSettings) -> dict[str, tuple[str, ...]]:
    """Full group name -> the topics it reads, as the four services subscribe today."""
    topics = kafka.topics
    assigned = tuple(topics.all_assigned())
    reads: dict[str, tuple[str, ...]] = {
        "routing": (topics.intake_submitted,),
        "intake.routed": (topics.referral_routed,),  # least knowledge: statuses without the person
        "intake.updated": (topics.referral_updated,),
        "intake.unroutable": (topics.referral_unroutable,),
        "reporting.intakes": (topics.intake_submitted,),
        "reporting.assigned": assigned,
        "reporting.updated": (topics.referral_updated,),
        "reporting.unroutable": (topics.referral_unroutable,),
        "reporting.overdue": (topics.referral_overdue,),
        # The services' copies of the person keys: a lag here shows people as not yet openable.
        "agency.keys": (topics.person_keys,),
        "reporting.keys": (topics.person_keys,),
        # Erasures: a lag here is an erasure not yet done by that service.
        "intake.erasures.confirmed": (topics.person_erasures_confirmed,),
        "routing.erasures": (topics.person_erasures,),
        "agency.erasures": (topics.person_erasures,),
        "reporting.erasures": (topics.person_erasures,),
        # The national feed's own groups: a lag here is help not yet recorded for the national system.
        "reporting.feed.intakes": (topics.intake_submitted,),
        "reporting.feed.assigned": assigned,
        "reporting.feed.updated": (topics.referral_updated,),
        "reporting.feed.consents": (topics.person_consents,),
    }
    groups = {kafka.group(name): read for name, read in reads.items()}
    groups.update({agency_group(kafka=kafka, agency=agency): (topics.referral_assigned(agency),) for agency in AGENCIES})
    return groups
