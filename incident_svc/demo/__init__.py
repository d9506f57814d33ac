"""`incident-svc demo`: the whole story on embedded defaults, from inventory to audit verify."""
