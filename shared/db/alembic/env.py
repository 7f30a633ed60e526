"""The one Alembic environment of every service. Alembic runs this file for each command; the
service (its tables, its versions folder) and the connection to migrate come in the config's
attributes, set by shared.db.migrations, which is where the work is done."""

from alembic import context

from shared.db.migrations import run_environment

run_environment(context)
