"""Retention periods are settings (SONGTOR_RETENTION_*, in days, at least 1), checked against each
other where one period protects another, and every service composes its purges at start."""

import importlib
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from intake.bulk.models import TABLES as BULK_TABLES
from reporting.ops import OPS_TABLES
from shared.auth import OidcSettings
from shared.auth.audit import TABLES as AUDIT_TABLES
from shared.retention import job as retention_job_module
from shared.retention.job import check_inbox_outlives_dead_letters
from shared.retention.settings import RetentionSettings
from shared.settings import KafkaSettings, PrivacySettings
from shared.topics import Topics
from tests.support.tokens import LOCAL_ISSUER

PERIODS = ("inbox_days", "outbox_days", "closed_referral_days", "bulk_job_days", "idempotency_days",
           "routed_note_days", "audit_days")


def test_every_period_has_a_default_of_at_least_a_day_and_a_description():
    settings = RetentionSettings()
    for name in PERIODS:
        assert getattr(settings, name) >= 1
        assert RetentionSettings.model_fields[name].description
    assert (settings.inbox_days, settings.outbox_days, settings.closed_referral_days, settings.audit_days) == (
        180, 7, 365, 3650)


def test_each_period_is_read_from_the_environment_with_the_shared_prefix(monkeypatch):
    monkeypatch.setenv("SONGTOR_RETENTION_OUTBOX_DAYS", "3")
    monkeypatch.setenv("SONGTOR_RETENTION_CLOSED_REFERRAL_DAYS", "730")
    monkeypatch.setenv("SONGTOR_RETENTION_CHUNK_ROWS", "200")
    settings = RetentionSettings()
    assert (settings.outbox_days, settings.closed_referral_days, settings.chunk_rows) == (3, 730, 200)


@pytest.mark.parametrize("name", PERIODS)
@pytest.mark.parametrize("value", [0, -1])
def test_a_period_under_a_day_is_refused(name, value):
    with pytest.raises(ValidationError, match=name):
        RetentionSettings(**{name: value})


def test_the_audit_log_may_not_be_kept_shorter_than_the_data_it_audits():
    with pytest.raises(ValidationError, match="must outlive what it audits"):
        RetentionSettings(closed_referral_days=400, audit_days=399)
    assert RetentionSettings(closed_referral_days=400, audit_days=400).audit_days == 400


def test_an_inbox_that_would_forget_event_ids_a_re_drive_can_bring_back_is_refused():
    kafka = KafkaSettings(dead_letter_retention_days=90)
    with pytest.raises(ValueError, match="KAFKA_DEAD_LETTER_RETENTION_DAYS"):
        check_inbox_outlives_dead_letters(RetentionSettings(inbox_days=90), kafka)
    check_inbox_outlives_dead_letters(RetentionSettings(inbox_days=91), kafka)


SERVICES = {
    "intake": ("intake", "IntakeSettings", ["intake.bulk_errors", "intake.bulk_jobs", "intake.bulk_uploads",
                                            "intake.idempotency", "intake.person"]),
    "routing": ("routing", "RoutingSettings", ["routing.need_note"]),
    "agency-adapters": ("agency_adapters", "AgencySettings", ["agency.move_notes", "agency.person"]),
    "reporting": ("reporting", "ReportingSettings", []),
}
COMMON = ["inbox", "outbox.published", "audit.read_people", "audit.reads"]


def service_settings(package: str, class_name: str, tmp_path, **overrides):  # noqa: ANN001, ANN003, ANN201
    settings_class = getattr(importlib.import_module(f"{package}.settings"), class_name)
    return settings_class(database_url=f"sqlite:///{tmp_path}/db.sqlite", oidc=OidcSettings(issuer=LOCAL_ISSUER),
                          privacy=PrivacySettings(environment="test"), **overrides)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_service_runs_its_own_purges_then_the_common_ones_in_the_background(service, tmp_path, monkeypatch):
    package, class_name, own = SERVICES[service]
    main = importlib.import_module(f"{package}.main")
    purgers, jobs = [], []
    real_build, real_job = retention_job_module.build_purger, main.retention_job

    def build_spy(runtime, **kwargs):  # noqa: ANN001, ANN003, ANN202
        purgers.append(real_build(runtime, **kwargs))
        return purgers[-1]

    def job_spy(runtime, **kwargs):  # noqa: ANN001, ANN003, ANN202
        jobs.append((runtime, real_job(runtime, **kwargs)))
        return jobs[-1][1]

    monkeypatch.setattr(retention_job_module, "build_purger", build_spy)
    monkeypatch.setattr(main, "retention_job", job_spy)
    main.build_app(service_settings(package, class_name, tmp_path))
    assert [[purge.name for purge in purger.purges] for purger in purgers] == [[*own, *COMMON]]
    (runtime, job), = jobs
    assert job in runtime.background


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_service_with_an_inbox_shorter_than_the_dead_letters_does_not_start(service, tmp_path):
    package, class_name, _ = SERVICES[service]
    settings = service_settings(package, class_name, tmp_path, retention=RetentionSettings(inbox_days=30))
    with pytest.raises(ValueError, match="SONGTOR_RETENTION_INBOX_DAYS"):
        importlib.import_module(f"{package}.main").build_app(settings)


DOC = (Path(__file__).resolve().parents[2] / "docs" / "retention.md").read_text(encoding="utf-8")


def test_the_retention_page_names_every_setting_rule_table_and_topic():
    """docs/retention.md is the table of every place personal data lives: it cannot miss one."""
    for name in RetentionSettings.model_fields:
        assert f"`SONGTOR_RETENTION_{name.upper()}`" in DOC, name
    for _package, _class_name, own in SERVICES.values():
        for rule in [*own, *COMMON]:
            assert f"`{rule}`" in DOC, rule
    tables = {table.name for package in ("intake", "routing", "agency_adapters", "reporting")
              for table in importlib.import_module(f"{package}.models").TABLES}
    tables |= {t.name for t in [*BULK_TABLES, *OPS_TABLES, *AUDIT_TABLES]}
    for table in sorted(tables):
        assert f"`{table}" in DOC, table
    for topic in Topics().all_event_topics():
        named = re.sub(r"^referral\.assigned\..*", "referral.assigned.<agency>", topic)
        assert f"`{named}`" in DOC, topic
    assert "`<topic>.dlq`" in DOC
