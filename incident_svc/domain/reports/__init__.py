"""Reports to regulators and the breach register, drafted from facts (pure, no I/O).

``facts`` holds what the service knows about one incident, ``fields`` the vocabulary of
content fields a rule may ask for (each one finds its value in the facts, or is missing),
``forms`` the rules this module knows how to draft for, and ``build`` puts a report together.
"""
