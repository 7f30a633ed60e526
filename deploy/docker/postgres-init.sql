-- One database per service: each owns its tables, its inbox and its outbox.
CREATE DATABASE intake;
CREATE DATABASE routing;
CREATE DATABASE agency_adapters;
CREATE DATABASE reporting;
CREATE DATABASE keycloak;  -- the identity provider's own
