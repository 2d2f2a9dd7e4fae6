"""Policy, gates, approvals and publishing of agents' action proposals (issue 5).

``policy``: the operator's ``$AIOS_HOME/policy.yaml``; ``gates``: pure per-proposal gates and the
Great Expectations suite; ``decisions``: approvals in Postgres and the event log; ``publish``:
gated, approved proposals through the outbox; ``assets``: the Dagster side; ``cli``: ``aios
proposals / approve / reject / publish``.
"""
