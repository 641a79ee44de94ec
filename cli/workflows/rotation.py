"""Rotating keys without a gap: a client's stored keys and the link signer's, step by step, each step
audited."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cli.reviews.checks import Status, worst
from cli.reviews.key_ages import mask_key
from cli.workflows.credential_validation import (
    VALIDATION_ATTEMPTS,
    VALIDATION_PAUSE_SECONDS,
    validate,
    visible_accounts,
)
from cli.workflows.link_signer import (
    LinkRefused,
    NotYet,
    RotationStopped,
    SignerState,
    _moment,
    probe_link,
    retired_links_until,
    signer_state,
)
from infrastructure.config import EnvironmentConfig
from lambdas.dal.access_keys import AccessKeyInfo, AccessKeys, Identity
from lambdas.dal.aws import AwsCredentials
from lambdas.dal.clients_table import ClientsTable
from lambdas.dal.secrets_store import SecretsStore
from lambdas.models.client import Client, StoredKeyCredentials
from lambdas.models.exceptions import PlatformError

sleep: Callable[[float], None] = time.sleep


@dataclass
class KeyRotation:
    """One rotation of a stored key: read, create, validate, store, then the old key. Until the new
    key is stored the old one stays untouched; a failure between create and store deletes the new
    key. Subclasses say how the current key is read, how a new key is proven, and what becomes of
    the old one."""

    config: EnvironmentConfig
    at: datetime
    dry_run: bool = False

    @property
    def secret(self) -> str:
        raise NotImplementedError

    def read(self, done: list[str]) -> tuple[AwsCredentials, AccessKeys]:
        """The key in use and the adapter that creates and deletes its user's keys."""
        raise NotImplementedError

    def dry_run_plan(self) -> str:
        raise NotImplementedError

    def validate_new(self, new: AwsCredentials) -> str:
        """Prove the new key (raise RotationStopped or PlatformError); say what was proven."""
        raise NotImplementedError

    def after_store(self, done: list[str]) -> None:
        """Bookkeeping once the new key is stored (nothing by default)."""

    def retire(self, old: AwsCredentials, new: AwsCredentials, keys: AccessKeys, done: list[str]) -> None:
        raise NotImplementedError

    def run(self) -> list[str]:
        done: list[str] = []
        try:
            return self._run(done)
        except RotationStopped as stopped:
            stopped.done = tuple(done)
            raise

    def _run(self, done: list[str]) -> list[str]:
        old, keys = self.read(done)
        if self.dry_run:
            done.append(f"dry run: would {self.dry_run_plan()}")
            return done
        try:
            created, new = keys.create()
        except PlatformError as error:
            raise RotationStopped(f"create: {error}; nothing changed, the old key is in use") from None
        done.append(f"created {mask_key(created.access_key_id)}")
        step = "validate"
        try:
            done.append(self._proven(new))
            step = "store"
            version = SecretsStore().put_keys(self.secret, new)
            done.append(f"stored in {self.secret} (version {version[:8]})")
        except (PlatformError, RotationStopped) as error:
            raise RotationStopped(f"{step}: {error}; {self._discard(keys, created.access_key_id)}") from None
        self.after_store(done)
        self.retire(old, new, keys, done)
        return done

    def _proven(self, new: AwsCredentials) -> str:
        """A new IAM key can take a few seconds to work everywhere: validation retries before giving up."""
        problem = ""
        for attempt in range(VALIDATION_ATTEMPTS):
            if attempt:
                sleep(VALIDATION_PAUSE_SECONDS)
            try:
                return self.validate_new(new)
            except PlatformError as error:
                problem = str(error)
            except NotYet as not_yet:
                problem = str(not_yet)
        raise RotationStopped(problem)

    @staticmethod
    def _discard(keys: AccessKeys, access_key_id: str) -> str:
        try:
            keys.delete(access_key_id)
        except PlatformError as error:
            unused = mask_key(access_key_id)
            return (
                f"the old key is still stored and working; the unused new key {unused} could not be deleted ({error})"
            )
        return "the new key was deleted; the old key is still stored and working"


@dataclass(kw_only=True)
class Rotation(KeyRotation):
    """A stored-keys client's rotation (see the module docstring): the client's key creates, proves
    (same identity, same readable accounts) and deletes its own user's keys."""

    client: Client
    _identity: Identity | None = None
    _readable: list[str] | None = None

    @property
    def stored_keys(self) -> StoredKeyCredentials:
        if not isinstance(self.client.credentials, StoredKeyCredentials):
            raise TypeError(f"{self.client.client_id} has no stored keys")
        return self.client.credentials

    @property
    def secret(self) -> str:
        return self.stored_keys.secret_name

    def read(self, done: list[str]) -> tuple[AwsCredentials, AccessKeys]:
        if not isinstance(self.client.credentials, StoredKeyCredentials):
            raise TypeError(f"{self.client.client_id} has no stored keys")
        before = validate(self.client, self.at)
        if worst(before.checks) is Status.CRITICAL or before.credentials is None or before.identity is None:
            problem = next(c.detail for c in before.checks if c.status is Status.CRITICAL)
            raise RotationStopped(f"read: the current key does not validate ({problem}); nothing changed")
        old, self._identity, self._readable = before.credentials, before.identity, before.readable
        old_keys = AccessKeys(old)
        try:
            keys = old_keys.list()
        except PlatformError as error:
            raise RotationStopped(f"read: cannot list the user's keys ({error}); nothing changed") from None
        if len(keys) >= 2:
            others = ", ".join(mask_key(k.access_key_id) for k in keys if k.access_key_id != old.access_key_id)
            raise RotationStopped(f"read: the user already has two keys (other: {others}); delete one first")
        done.append(f"current key {mask_key(old.access_key_id)} of {self._identity.arn} validates")
        return old, old_keys

    def dry_run_plan(self) -> str:
        return f"create a new key, validate it, store it in {self.secret}, delete the old one"

    def validate_new(self, new: AwsCredentials) -> str:
        if self._identity is None or self._readable is None:
            raise RuntimeError("read() comes first")
        seen = AccessKeys(new).identity()
        if seen.arn != self._identity.arn:
            raise RotationStopped(f"the new key belongs to {seen.arn}, not {self._identity.arn}")
        missing = set(self._readable) - visible_accounts(new, self.at)
        if missing:
            raise NotYet(f"Cost Explorer does not read {', '.join(sorted(missing))} with the new key")
        return "new key validates: same identity, same readable accounts"

    def after_store(self, done: list[str]) -> None:
        try:
            rotated = self.stored_keys.model_copy(update={"rotated_at": self.at})
            ClientsTable(self.config.clients_table).put(
                self.client.model_copy(update={"credentials": rotated, "updated_at": self.at}), must_exist=True
            )
            done.append("recorded rotated_at")
        except Exception as error:  # the key is rotated; the record's date is only informative
            done.append(f"WARNING: rotated_at not recorded ({type(error).__name__})")

    def retire(self, old: AwsCredentials, new: AwsCredentials, keys: AccessKeys, done: list[str]) -> None:
        try:
            AccessKeys(new).delete(old.access_key_id)
        except PlatformError as error:
            raise RotationStopped(
                f"delete: {error}; the new key is stored and working, the old key {mask_key(old.access_key_id)} "
                "still exists: delete it as the client (aws iam delete-access-key)"
            ) from None
        done.append(f"deleted the old key {mask_key(old.access_key_id)}")


@dataclass
class SignerRotation(KeyRotation):
    """The link signer's rotation. Its key may only read reports, so the operator's credentials create
    and delete its user's keys, and a new key is proven the way it is used: S3 must serve a GET it
    presigned. The old key signed the links of the last 7 days' emails: it is kept until those expire
    (`finish` deletes it then), unless `revoke_old` (a compromised key) deletes it at once."""

    revoke_old: bool = False

    @property
    def user(self) -> str:
        return self.config.link_signer_user

    @property
    def secret(self) -> str:
        return self.config.link_signer_secret

    def read(self, done: list[str]) -> tuple[AwsCredentials, AccessKeys]:
        try:
            state = signer_state(self.config)
        except PlatformError as error:
            raise RotationStopped(f"read: {error}; nothing changed") from None
        keys, old, masked = AccessKeys.of_user(self.user), state.stored, mask_key(state.stored.access_key_id)
        # A signer key that does not work is what a rotation repairs: a warning, not a stop.
        if state.current is None:
            done.append(f"WARNING: IAM does not list the stored key {masked}: the links signed with it fail; "
                        "the rotation replaces it")  # fmt: skip
        else:
            try:
                probe_link(self.config, old)
                done.append(f"current key {masked} of {self.user} works: S3 served a link it signed")
            except LinkRefused as refused:
                done.append(f"WARNING: the current key {masked} does not work ({refused}): the rotation replaces it")
            except RotationStopped as stopped:
                raise RotationStopped(f"read: {stopped}; nothing changed") from None
        if state.retired:
            self._clear_retired(state, keys, done)
        return old, keys

    def _clear_retired(self, state: SignerState, keys: AccessKeys, done: list[str]) -> None:
        """IAM allows two keys: a retired one must go before a new one is made, and only once its links
        have expired (or at once with --revoke-old)."""
        until = state.retired_links_until
        if not self.revoke_old and self.at < until:
            raise RotationStopped(
                f"read: the previous rotation's key {mask_key(state.retired[0].access_key_id)} still serves the "
                f"links it signed until {_moment(until)}; rotate after that, or with --revoke-old if a key is "
                "compromised (its links stop working); nothing changed"
            )
        why = "the links it signed stop working (--revoke-old)" if self.at < until else "its links have expired"
        _delete_retired(keys, state.retired, done, f": {why}", step="read", dry_run=self.dry_run)

    def dry_run_plan(self) -> str:
        fate = "delete the old one" if self.revoke_old else "keep the old one until the links it signed expire"
        return f"create a new key, prove it on a presigned GET, store it in {self.secret}, {fate}"

    def validate_new(self, new: AwsCredentials) -> str:
        seen = AccessKeys(new).identity()
        if not seen.arn.endswith(f":user/{self.user}"):
            raise RotationStopped(f"the new key belongs to {seen.arn}, not to the user {self.user}")
        probe_link(self.config, new)
        return f"new key validates: it is {self.user}'s, and S3 served a link it signed"

    def retire(self, old: AwsCredentials, new: AwsCredentials, keys: AccessKeys, done: list[str]) -> None:
        masked = mask_key(old.access_key_id)
        try:
            listed = keys.current(old.access_key_id) is not None
            if listed and self.revoke_old:
                keys.delete(old.access_key_id)
        except PlatformError as error:
            raise RotationStopped(
                f"delete: {error}; the new key is stored and working, the old key {masked} still exists: delete it "
                f"(aws iam delete-access-key --user-name {self.user} --access-key-id ...)"
            ) from None
        if not listed:
            done.append(f"the old key {masked} was no longer in IAM: nothing to keep")
        elif self.revoke_old:
            done.append(f"deleted the old key {masked}: the links it signed stop working (--revoke-old)")
        else:
            try:  # the clock `check-age` and `--finish` go by: when the new key was stored
                until = retired_links_until(SecretsStore().current_since(self.secret))
            except PlatformError:
                until = retired_links_until(self.at)
            done.append(
                f"kept the old key {masked} until {_moment(until)}, so the links it signed keep working until they "
                "expire; then run `credentials rotate --link-signer --finish` to delete it"
            )


def finish_signer_rotation(config: EnvironmentConfig, at: datetime, *, dry_run: bool = False) -> list[str]:
    """Delete the link signer's retired key once the links it signed have expired."""
    try:
        state = signer_state(config)
    except PlatformError as error:
        raise RotationStopped(f"read: {error}; nothing changed") from None
    if not state.retired:
        return [f"nothing to finish: {config.link_signer_user} has only the key in use"]
    until = state.retired_links_until
    if at < until:
        masked = ", ".join(mask_key(key.access_key_id) for key in state.retired)
        raise RotationStopped(
            f"finish: the retired key {masked} serves the links it signed until {_moment(until)}; "
            "finish after that; nothing changed"
        )
    done: list[str] = []
    keys = AccessKeys.of_user(config.link_signer_user)
    _delete_retired(keys, state.retired, done, f" (its links expired {_moment(until)})", step="delete", dry_run=dry_run)
    return done


def _delete_retired(
    keys: AccessKeys, retired: list[AccessKeyInfo], done: list[str], why: str, *, step: str, dry_run: bool
) -> None:
    """Delete the link signer's retired keys, or say what a dry run would, each line ending with `why`;
    a key IAM does not delete stops the rotation at `step` (the lines of the keys deleted before stay)."""
    for key in retired:
        masked = mask_key(key.access_key_id)
        if dry_run:
            done.append(f"dry run: would delete the retired key {masked}{why}")
            continue
        try:
            keys.delete(key.access_key_id)
        except PlatformError as error:
            raise RotationStopped(f"{step}: the retired key {masked} could not be deleted ({error})") from None
        done.append(f"deleted the retired key {masked}{why}")
