"""Quality gates: the Great Expectations audit from a contract, extra expectations, the personal-data scan,
SQL checks and masking.
"""
