"""Agents of the control plane: intents -> plans -> agent runs -> action proposals.

Agents never act: they read memory and the dbt marts and emit :class:`Proposal` rows into the
``action_proposals`` table, which the gates, the operator's approvals and the outbox act on.
See ``docs/agents.md``.
"""
