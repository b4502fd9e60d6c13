"""Orchestration: automation conditions, partitions, retries, alerts, run launching and the recovery of
dead runs.
"""
