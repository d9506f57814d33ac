"""The kinds of record retention acts on, one module each (services/privacy/retention.py runs them):
``addresses`` (proof of dispatch and approved audiences), ``bounces`` (raw reports),
``exposures`` (who an incident affected), ``former`` (people no longer in the inventory);
``base`` holds what they share."""
