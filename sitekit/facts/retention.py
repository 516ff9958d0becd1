"""How long OCI keeps logs and audit events, and how long CIS asks: the defaults of the retention rules
(SK-GOV-003, SK-GOV-004) when no jurisdiction says otherwise.

Sources:
- CIS OCI Foundations Benchmark 1.2.0, recommendation 3.1 "Ensure audit log retention period is set to 365
  days". Versions 2.0.0 and 3.0.0 no longer list it (OCI's default is now 365 days); sitekit keeps 365 days as
  the CIS minimum for audit events and for service logs alike.
- pulumi_oci 5.5.0 docstrings: `audit.Configuration.retention_period_days` "The minimum is 90, the maximum
  365"; `logging.Log.retention_duration` "in 30-day increments (30, 60, 90 and so on until 180)", and a log
  without it is kept 30 days (OCI Logging's default).
"""

from __future__ import annotations

CIS_RETENTION_DAYS = 365
"""The CIS minimum for audit events and logs."""

AUDIT_MAX_DAYS = 365
LOG_MAX_DAYS = 180
LOG_DEFAULT_DAYS = 30

DEFAULT_MIN_AUDIT_DAYS = min(CIS_RETENTION_DAYS, AUDIT_MAX_DAYS)
"""SK-GOV-004 without a jurisdiction: 365 days."""

DEFAULT_MIN_LOG_DAYS = min(CIS_RETENTION_DAYS, LOG_MAX_DAYS)
"""SK-GOV-003 without a jurisdiction: the CIS minimum, capped at the longest OCI Logging keeps (180 days)."""
