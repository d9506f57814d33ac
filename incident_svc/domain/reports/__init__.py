"""Reports to regulators and the breach register, drafted from facts (pure, no I/O).

``facts`` holds what the service knows about one incident, ``fields`` the vocabulary of
content fields a rule may ask for (each one finds its value in the facts, or is missing),
``forms`` which fields an obligation's report carries, and ``build`` puts it together.
"""
