"""Runs moto's Secrets Manager emulator on loopback for the tests, the demo and the benchmark.

Six changes to moto 5.2, all to make it behave as Secrets Manager does:
- The "default version" is derived from the AWSCURRENT label. moto keeps its own pointer, which
  goes stale after UpdateSecretVersionStage or RotateSecret, so the next PutSecretValue could leave
  two versions labelled AWSCURRENT.
- RotateSecret with a RotationLambdaARN creates the AWSPENDING version (without a value) and
  enables rotation, as Secrets Manager does, but does not invoke the function: moto's Lambda needs
  Docker, and the tests invoke our handler with each rotation step themselves.
- DescribeSecret's VersionIdsToStages lists only versions that still carry a staging label. The
  DescribeSecret API reference: "A list of the versions of the secret that have staging labels
  attached. Versions that don't have staging labels are considered deprecated"; moto lists them all.
  (GetSecretValue by VersionId still finds them, as in Secrets Manager.)
- PutSecretValue with the ClientRequestToken of an AWSPENDING version that already holds a value
  and a different value fails with ResourceExistsException. The PutSecretValue API reference: if a
  version with that id exists and the secret data differs, "the operation fails because you can't
  modify an existing version"; moto lets any AWSPENDING version be overwritten (it exempts them so
  the value-less version RotateSecret creates can take its value, which stays allowed).
- PutSecretValue with AWSCURRENT moves only AWSCURRENT (to the new version) and AWSPREVIOUS (to the
  version AWSCURRENT left), and any other label it names from wherever it was; the version AWSCURRENT
  left keeps its other labels (AWSPENDING after a native rotation, say). The PutSecretValue API
  reference, VersionStages: a label already on another version is removed from it, and AWSPREVIOUS
  moves to the version AWSCURRENT was removed from. moto replaced that version's labels with
  ["AWSPREVIOUS"] and left the new version's other labels on their old versions too.
- Requests are handled one at a time. moto's server is threaded but its version bookkeeping is not
  atomic: two concurrent PutSecretValue calls could both demote the same AWSCURRENT version and
  leave two versions labelled AWSCURRENT, which Secrets Manager never does.

Usage: python tools/moto_server.py PORT [PARENT_PID]
With PARENT_PID the server exits when that process does, so a crashed test run leaves nothing behind.
"""

import os
import sys
import threading
import time

from moto.secretsmanager import models


def _current_version_id(secret):
    for version_id, version in secret.versions.items():
        if "AWSCURRENT" in version["version_stages"]:
            return version_id
    return None


models.FakeSecret.default_version_id = property(_current_version_id, lambda secret, value: None)


def _labelled_version_ids_to_stages(secret):
    return {
        version_id: version["version_stages"]
        for version_id, version in secret.versions.items()
        if version["version_stages"]
    }


models.FakeSecret._form_version_ids_to_stages = _labelled_version_ids_to_stages


def _move_labels_to_new_current(secret, secret_version, version_id):
    for old_version in secret.versions.values():
        stages = old_version["version_stages"]
        if "AWSPREVIOUS" in stages:
            stages.remove("AWSPREVIOUS")
    for old_id, old_version in secret.versions.items():
        if old_id == version_id:
            continue
        stages = old_version["version_stages"]
        was_current = "AWSCURRENT" in stages
        stages[:] = [stage for stage in stages if stage not in secret_version["version_stages"]]
        if was_current:
            stages.append("AWSPREVIOUS")
    secret.versions[version_id] = secret_version


models.FakeSecret.reset_default_version = _move_labels_to_new_current

_check_existing = models.SecretsManagerBackend._check_with_existing_secrets_and_versions


def _check_existing_version_value(self, secret_name, client_request_token, secret_string, secret_binary, *args, **kwargs):
    secret = self.secrets.get(secret_name)
    version = getattr(secret, "versions", {}).get(client_request_token) if client_request_token else None
    has_value = version is not None and ("secret_string" in version or "secret_binary" in version)
    if has_value:
        if version.get("secret_string") != secret_string or version.get("secret_binary") != secret_binary:
            raise models.ResourceExistsException(
                f"You can't use ClientRequestToken {client_request_token} because that value is already in use"
                f" for a version of secret {secret.arn}."
            )
        # The same data again: "the operation succeeds but does nothing" (PutSecretValue reference).
        return secret
    return _check_existing(self, secret_name, client_request_token, secret_string, secret_binary, *args, **kwargs)


models.SecretsManagerBackend._check_with_existing_secrets_and_versions = _check_existing_version_value


class _RotationFunctionNotInvoked:
    def get_function(self, *args, **kwargs):
        return None

    def invoke(self, *args, **kwargs):
        return None


import moto.awslambda.utils as lambda_utils  # noqa: E402

lambda_utils.get_backend = lambda *args, **kwargs: _RotationFunctionNotInvoked()

from moto.moto_server.werkzeug_app import DomainDispatcherApplication  # noqa: E402

_one_at_a_time = threading.Lock()
_dispatch = DomainDispatcherApplication.__call__


def _serialised_dispatch(self, environ, start_response):
    with _one_at_a_time:
        return _dispatch(self, environ, start_response)


DomainDispatcherApplication.__call__ = _serialised_dispatch


def _exit_with(parent_pid):
    while True:
        try:
            os.kill(parent_pid, 0)
        except OSError:
            os._exit(0)
        time.sleep(0.5)


def main():
    port = sys.argv[1]
    if len(sys.argv) > 2:
        threading.Thread(target=_exit_with, args=(int(sys.argv[2]),), daemon=True).start()
    from moto.server import main as moto_main

    moto_main(["-H", "127.0.0.1", "-p", port])


if __name__ == "__main__":
    main()
