"""Tabletop exercises: a full incident rehearsed in an isolated copy (docs/exercises.md).

registry     the exercise record (a JSON file per exercise under <var_dir>/exercises/)
isolation    the settings and context an exercise runs in: its database, its mail sink,
             its feed path, its clock, and the relay fence
databases    create, migrate and drop an exercise's own database (SQLite or PostgreSQL)
seeding      fill it: a copy of a real incident (--from) or a scenario's incident
injects      apply a scenario's injects whose exercise hour has come
lifecycle    start and end, marked in the real audit log
report       obligations met or missed on the exercise clock, time to first notice
"""
