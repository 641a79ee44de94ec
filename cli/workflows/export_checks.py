"""What `client add` and `client update` check about a client's Data Export once the record is
written: the export probed as `credentials validate` probes it (its partitions listed and its newest
manifest read, never its data), with the credentials the worker will read it with.

The probe never decides what is written: the record's own fields were checked before (one line
naming the field, exit 2, nothing written), and the export may rightly be unreadable yet. A client is
usually registered before its role exists (the platform makes the external id the role's trust
policy needs) and paused until then, as for Cost Explorer, whose access `client add` does not try
either: then the export is not checked, and the command says how to check it later. A probe that
ran and found something (S3 refused the read, no billing period yet, another format) is reported
as findings: exit 1, the client registered.
"""

from __future__ import annotations

from cli.render.console import console
from cli.reviews.checks import Status
from cli.workflows.credential_validation import export_check, refused
from lambdas.dal.aws import AwsCredentials
from lambdas.dal.credentials import CredentialProvider
from lambdas.models.client import Client
from lambdas.models.exceptions import PlatformError


def after_registration(client: Client, *, waiting_for_role: bool) -> str:
    """Probe the client's export and print what was found; the shortfall line ("" when clean or not
    checkable yet). `waiting_for_role`: the external id was made by this command, so no role can
    trust it yet."""
    export = client.data_export
    if export is None:
        return ""
    later = f"once it is readable, `credentials validate --client-id {client.client_id}` checks it"
    credentials: AwsCredentials | None = None
    if export.access == "client_role":
        if waiting_for_role:
            console.print(
                f"Data Export not checked yet: the client's role does not trust its new external id; {later}."
            )
            return ""
        try:
            credentials = CredentialProvider().for_client(client)
        except PlatformError as error:
            refused(client, error)
            console.print(f"Data Export not checked yet: {error}; {later}.", highlight=False)
            return ""
    check = export_check(client, credentials)
    if check.status is Status.OK:
        console.print(f"Data Export: {check.detail}", highlight=False)
        return ""
    return f"{client.client_id} is registered; its Data Export: {check.detail}"
