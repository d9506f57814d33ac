"""Notices: localised templates in a sandbox, rendered per reader, checked, and assembled."""
