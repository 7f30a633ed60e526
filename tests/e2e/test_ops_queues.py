"""Operations view (issue 6): one agency's consumer is not running, referrals arrive; its lag and
the age of its oldest waiting referral rise in /v1/ops/queues, in /metrics and on the ops page
while the other agencies stay at zero; a skills process is then started and the queue drains to
zero. The page is read as a person reads it: headless Chromium opens /ops, is sent to the
project's Keycloak, signs in there as `ops` and comes back to a page whose script reads the API
with the session. Nothing ops sees carries a person's name or ID."""

import json
import random
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared.topics import Topics
from tests.support.browser import Browser, sign_in_with_keycloak, table_rows
from tests.support.examples import intake_for, thai_national_id
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e

INTAKES = 3
OTHERS = ("employment", "welfare", "social_security")


def queues(reporting_url: str, auth: httpx.Auth) -> dict:
    answer = httpx.get(f"{reporting_url}/v1/ops/queues", auth=auth, timeout=10)
    return answer.json() if answer.status_code == 200 else {"agencies": [], "status": answer.status_code}


def by_agency(view: dict) -> dict[str, dict]:
    return {row["agency"]: row for row in view.get("agencies", [])}


def metrics(reporting_url: str) -> dict[tuple[str, tuple], float]:
    text = httpx.get(f"{reporting_url}/metrics", timeout=10).text
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def ops_page(reporting_url: str, issuer: str, *, artifacts) -> str:  # noqa: ANN001
    """The DOM of /ops once its script filled the tables, reached by signing in as `ops`."""
    with Browser(artifacts=artifacts) as browser:
        browser.open(f"{reporting_url}/ops")
        browser.wait_for("the issuer's login form", lambda b: 'id="kc-form-login"' in b.dom())
        assert browser.url.startswith(f"{issuer}/protocol/openid-connect/auth?"), browser.url
        browser.keep("ops-sign-in")
        sign_in_with_keycloak(browser, username="ops", password="ops")
        browser.wait_for("the ops page with its rows", lambda b: b.url == f"{reporting_url}/ops" and all(
            table_rows(b.dom(), attribute=name) for name in ("data-agency", "data-province")))
        return browser.keep("ops-page")


async def test_a_stopped_agency_shows_lag_and_age_then_drains(
    start_service, database_url, kafka_env, artifacts_dir, identity
):
    begun = time.monotonic()
    ops = identity.auth("ops")
    reporting = start_service("reporting", {"REPORTING_OPS_SCAN_SECONDS": "1"})
    agencies_db = database_url("agency-adapters")
    agencies = start_service("agency-adapters", {"AGENCY_AGENCIES": json.dumps(list(OTHERS))},
                             database=agencies_db, label="agency-adapters-others")
    start_service("routing")
    intake = start_service("intake")
    topics, group = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"]), kafka_env["KAFKA_GROUP_PREFIX"]

    rng, clerk = random.Random(6), identity.auth("clerk-6406")
    people = []
    for _ in range(INTAKES):
        body = intake_for(thai_national_id(rng), needs=["skill_training", "job_registration"])
        answer = httpx.post(f"{intake.url}/v1/intakes", json=body, auth=clerk, timeout=30)
        assert answer.status_code == 202, answer.text
        people.append(body["person"])
    # And one in Chachoengsao with only a service delivered at intake: no referral, still an intake today.
    served = intake_for(thai_national_id(rng), needs=["drug_prevention_outreach"], subdistrict="240101")
    people.append(served["person"])
    answer = httpx.post(f"{intake.url}/v1/intakes", json=served, auth=clerk, timeout=30)
    assert answer.status_code == 202 and answer.json()["referrals"] == [], answer.text

    # Employment takes its referrals in; skills' wait on its topic, and the view says so.
    view = eventually(lambda: queues(reporting.url, ops), until=lambda v: (
        (rows := by_agency(v)) and rows["skills"]["lag"] == INTAKES and rows["skills"]["oldest_waiting_seconds"] > 0
        and rows["employment"]["lag"] == 0 and sum(p["end"] for p in rows["employment"]["partitions"]) == INTAKES
    ), timeout=90, interval=1)
    rows = by_agency(view)
    assert rows["skills"]["consumer_group"] == f"{group}agency.skills"
    assert all(rows[agency]["lag"] == 0 and rows[agency]["oldest_waiting_seconds"] == 0 for agency in OTHERS)
    assert all(row["dead_letters"] == 0 and row["overdue"] == 0 for row in rows.values())
    other_groups = {(g["consumer_group"], g["topic"]): g["lag"] for g in view["groups"]}
    assert other_groups[(f"{group}routing", topics.intake_submitted)] == 0

    skills_topic = topics.referral_assigned("skills")
    samples = eventually(lambda: metrics(reporting.url), until=lambda m: m.get(
        ("kafka_consumergroup_lag_sum", (("consumergroup", f"{group}agency.skills"), ("topic", skills_topic)))
    ) == INTAKES, timeout=30, interval=1)
    assert samples[("songtor_referral_oldest_waiting_seconds", (("agency", "skills"),))] > 0
    assert samples[("songtor_referral_oldest_waiting_seconds", (("agency", "employment"),))] == 0
    employment = (("consumergroup", f"{group}agency.employment"), ("topic", topics.referral_assigned("employment")))
    assert samples[("kafka_consumergroup_lag_sum", employment)] == 0
    per_partition = [v for (name, labels), v in samples.items()
                     if name == "kafka_consumergroup_lag" and ("consumergroup", f"{group}agency.skills") in labels]
    assert len(per_partition) == 3 and sum(per_partition) == INTAKES
    assert samples[("songtor_topic_end_offset", (("topic", skills_topic),))] == INTAKES
    assert samples[("songtor_dead_letters_depth", (("topic", skills_topic),))] == 0
    assert samples[("songtor_referrals_overdue", (("agency", "skills"),))] == 0

    # Today's intakes by province (the example's subdistrict is in Sukhothai, 64), the one served
    # at intake included.
    today = eventually(lambda: httpx.get(f"{reporting.url}/v1/ops/today", auth=ops, timeout=10).json(),
                       until=lambda t: t["total"] == INTAKES + 1, timeout=30, interval=1)
    assert today["provinces"] == [
        {"province": "64", "name_th": "สุโขทัย", "name_en": "Sukhothai", "intakes": INTAKES},
        {"province": "24", "name_th": "ฉะเชิงเทรา", "name_en": "Chachoengsao", "intakes": 1},
    ]

    # Only ops reads the queues; national reads today's counts (no names there either).
    for role in ("province-64", "national"):
        assert httpx.get(f"{reporting.url}/v1/ops/queues", auth=identity.auth(role), timeout=10).status_code == 403
    national = httpx.get(f"{reporting.url}/v1/ops/today", auth=identity.auth("national"), timeout=10)
    assert national.status_code == 200 and national.json()["total"] == INTAKES + 1
    assert httpx.get(f"{reporting.url}/v1/ops/queues", timeout=10).status_code == 401
    signed_out = httpx.get(f"{reporting.url}/ops", timeout=10)
    assert signed_out.status_code == 303 and signed_out.headers["location"] == "/auth/login?next=%2Fops"

    # The page, as a browser shows it after signing in: a row per agency with its numbers, skills behind.
    dom = ops_page(reporting.url, identity.issuer, artifacts=artifacts_dir)
    page_rows = table_rows(dom, attribute="data-agency")
    assert sorted(page_rows) == sorted(["skills", *OTHERS]), dom[-2000:]
    assert page_rows["skills"][1] == str(INTAKES) and page_rows["skills"][2] != "0"
    assert "กรมพัฒนาฝีมือแรงงาน" in page_rows["skills"][0]
    assert all(page_rows[agency][1] == "0" for agency in OTHERS)
    provinces = table_rows(dom, attribute="data-province")
    assert (provinces["64"][1], provinces["24"][1]) == (str(INTAKES), "1")
    seen_by_ops = [dom, json.dumps(view, ensure_ascii=False), json.dumps(today, ensure_ascii=False),
                   httpx.get(f"{reporting.url}/v1/ops/dlq", auth=ops, timeout=10).text]
    for person in people:
        assert not any(person["national_id"] in text or person["full_name"] in text for text in seen_by_ops)

    # A skills process starts: the same group resumes and the queue drains to zero.
    start_service("agency-adapters", {"AGENCY_AGENCIES": json.dumps(["skills"])},
                  database=agencies_db, label="agency-adapters-skills")
    drained = eventually(lambda: queues(reporting.url, ops), until=lambda v: (
        (rows := by_agency(v)) and rows["skills"]["lag"] == 0 and rows["skills"]["oldest_waiting_seconds"] == 0
    ), timeout=90, interval=1)
    assert by_agency(drained)["skills"]["rate_per_minute"] > 0
    samples = eventually(lambda: metrics(reporting.url), until=lambda m: m.get(
        ("kafka_consumergroup_lag_sum", (("consumergroup", f"{group}agency.skills"), ("topic", skills_topic)))
    ) == 0, timeout=30, interval=1)
    assert samples[("songtor_referral_oldest_waiting_seconds", (("agency", "skills"),))] == 0
    skills = httpx.get(f"{agencies.url}/v1/agencies/skills/referrals", auth=identity.auth("officer-skills-64"),
                       timeout=10).json()["referrals"]
    assert len(skills) == INTAKES
    (artifacts_dir / "ops-timing.json").write_text(json.dumps({"seconds": round(time.monotonic() - begun, 1)}))
