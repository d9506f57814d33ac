"""Notices of disclosures to authorities, held while non-disclosure applies and released by
`serve` or with counsel's approval.
"""
