"""reporting: projects the event log into referral facts, dashboards and the monthly forms."""
