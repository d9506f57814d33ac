"""The static Tortoise configuration that `tortoise makemigrations` reads (see `make migrations`).

It names the models and the migrations package only; the database is a throwaway in memory.
"""

from incident_svc.db import tortoise_config

TORTOISE_ORM = tortoise_config("sqlite://:memory:")
