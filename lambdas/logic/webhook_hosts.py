"""Where a chat summary may be posted: the official webhook hosts of Slack and of Microsoft Teams
(legacy Office 365 connectors and the Workflows app of Power Automate), over HTTPS on port 443.

A webhook URL comes from a secret an operator stored; an allowlist keeps it from being aimed at
the platform itself or the network around it (`https://169.254.169.254`, a private address, the
Lambda Runtime API on loopback) or at any other host on the internet. Plain http to loopback is
for the `local` environment's test receivers only.

Hosts (checked against the vendors' documentation, 2026):
- Slack incoming webhooks: `hooks.slack.com` (`hooks.slack-gov.com` for GovSlack);
- Teams connectors (Office 365, being retired): `<tenant>.webhook.office.com`;
- Teams Workflows (Power Automate, "When a Teams webhook request is received"):
  `prod-NN.<region>.logic.azure.com` and `<environment>.NN.environment.api.powerplatform.com`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

SLACK_HOSTS = frozenset({"hooks.slack.com", "hooks.slack-gov.com"})
TEAMS_HOST_SUFFIXES = (".webhook.office.com", ".logic.azure.com", ".environment.api.powerplatform.com")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _allowed_host(kind: str, host: str) -> bool:
    if kind == "slack":
        return host in SLACK_HOSTS
    return any(host.endswith(suffix) and len(host) > len(suffix) for suffix in TEAMS_HOST_SUFFIXES)


def allowed_hosts(kind: str) -> str:
    return ", ".join(sorted(SLACK_HOSTS)) if kind == "slack" else ", ".join("*" + s for s in TEAMS_HOST_SUFFIXES)


def webhook_url_problem(kind: str, url: str, *, allow_loopback: bool = False) -> str | None:
    """What is wrong with posting a `kind` ("slack" or "teams") summary to `url`, or None. The answer
    names the host at most, never the path or query, which hold the webhook's secret."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return "is not a URL"
    if not host:
        return "is not a URL with a host"
    if parts.username is not None or parts.password is not None:
        return "carries a user name or password"
    if allow_loopback and host in LOOPBACK_HOSTS and parts.scheme in ("http", "https"):
        return None  # the local environment's receivers
    if parts.scheme != "https":
        return f"must be https, not {parts.scheme or 'no scheme'}"
    if port not in (None, 443):
        return f"must use port 443, not {port}"
    if not _allowed_host(kind, host):
        return f"host {host} is not a {kind} webhook host ({allowed_hosts(kind)})"
    return None
