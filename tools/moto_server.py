"""Runs moto's Secrets Manager emulator on loopback for the tests, the demo and the benchmark, changed
to behave as AWS documents Secrets Manager (moto 5.2 differs where rotation needs it most).

Each change names the AWS text it follows. Where AWS's sources disagree, or say nothing, a per-secret
switch selects the variant (the control routes below), so the tests run the rotation sequences
under each; docs/rotation.md lists what is known and what is not.

Versions and labels:
- The "default version" is derived from the AWSCURRENT label. moto keeps its own pointer, which
  goes stale after UpdateSecretVersionStage, so the next PutSecretValue could leave two versions
  labelled AWSCURRENT. (PutSecretValue reference: AWSCURRENT is on one version; "Versions attached
  to a label at the same time: 1", Secrets Manager quotas.)
- DescribeSecret's VersionIdsToStages lists only versions that still carry a staging label. The
  DescribeSecret API reference: "A list of the versions of the secret that have staging labels
  attached. Versions that don't have staging labels are considered deprecated"; moto lists them all.
  (GetSecretValue by VersionId still finds them, as in Secrets Manager.)
- PutSecretValue with the ClientRequestToken of a version that already holds a value and different
  data fails with ResourceExistsException. The PutSecretValue API reference: if a version with that
  id exists and the secret data differs, "the operation fails because you can't modify an existing
  version"; moto lets any AWSPENDING version be overwritten (it exempts them so the value-less
  version RotateSecret creates can take its value, which stays allowed).
- PutSecretValue with AWSCURRENT moves only AWSCURRENT (to the new version) and AWSPREVIOUS (to the
  version AWSCURRENT left), and any other label it names from wherever it was; the version AWSCURRENT
  left keeps its other labels (AWSPENDING after a native rotation, say). The PutSecretValue API
  reference, VersionStages: a label already on another version is removed from it, and AWSPREVIOUS
  moves to the version AWSCURRENT was removed from. moto replaced that version's labels with
  ["AWSPREVIOUS"] and left the new version's other labels on their old versions too.
- Versions are pruned and capped. The Secrets Manager quotas page: "Secrets Manager removes
  unlabeled versions when there are more than 100, but it does not remove versions created less than
  24 hours ago. If you update the secret value more than once every 10 minutes, you create more
  versions than Secrets Manager removes, and you will reach the quota for secret versions" (the
  quota: "Versions of a secret: ~100"); PutSecretValue's errors include LimitExceededException, "The
  request failed because it would exceed one of the Secrets Manager quotas" (botocore's
  secretsmanager model). moto keeps every version. Here a new version first removes the oldest
  unlabelled versions older than 24 hours while 100 or more remain, and is refused with
  LimitExceededException when 100 remain; AWS gives the quota as "~100", so where exactly it refuses
  is not known.

Rotation:
- RotateSecret starts the rotation asynchronously ("Configures and starts the asynchronous process
  of rotating the secret", RotateSecret reference): it creates the token's version labelled
  AWSPENDING without a value ("When rotation is unsuccessful, the AWSPENDING staging label might be
  attached to an empty secret version"; moto checked this against AWS in its PR #8504), answers, and
  then invokes the rotation function with each step in turn, {"Step", "SecretId" (the secret's ARN),
  "ClientRequestToken", "RotationToken"} (user guide, "Rotation by Lambda function"). "If any rotation
  step fails, Secrets Manager retries the entire rotation process multiple times" (user guide, "How
  rotation works"); how many times is not documented: here 3 attempts in all. The function is
  invoked through the Lambda Invoke API at the URL registered for its ARN; a function with no URL
  cannot be invoked, as when Secrets Manager lacks lambda:InvokeFunction, and its rotation fails
  (RotationFailed) leaving AWSPENDING on the empty version. moto invokes its own Lambda (which needs
  Docker) synchronously, or nothing.
- The in-progress rule. RotateSecret reference: "If the AWSPENDING staging label is present but not
  attached to the same version as AWSCURRENT, then any later invocation of RotateSecret assumes that
  a previous rotation request is still in progress and returns an error"; the error AWS returns is
  InvalidRequestException "A previous rotation isn't complete. That rotation will be reattempted."
  (quoted in the AWS provider's acceptance tests and in user reports), so the rotation of the token
  that holds AWSPENDING is run again with that old token. AWSPENDING on AWSCURRENT's version is a
  finished rotation ("When rotation is successful, the AWSPENDING staging label might be attached to
  the same version as the AWSCURRENT version"), and a new rotation starts. moto has the rule
  inverted: it refuses on AWSPENDING beside AWSCURRENT and otherwise strips the stray label.
- RotateSecret without parameters: "If you don't include the configuration parameters, the
  operation starts a rotation with the values already stored in the secret" (RotateSecret
  reference); with no function stored and none given it fails with InvalidRequestException ("You
  tried to enable rotation on a secret that doesn't already have a Lambda function ARN configured and
  you didn't include such an ARN as a parameter in this call", botocore's model). moto wiped the
  stored function and then moved AWSCURRENT onto the empty version.
- RotateImmediately=false: "Secrets Manager tests the rotation configuration by running the
  testSecret step of the Lambda rotation function. This test creates an AWSPENDING version of the
  secret and then removes it" (RotateSecret reference). Whether that version holds a value is not
  documented: the switch testVersionValue is "empty" (as RotateSecret's own version) or "current"
  (a copy of AWSCURRENT's value, as moto's PR #8547 chose).
- AWSPENDING after a successful rotation: the RotateSecret reference says it "might be attached to
  the same version as the AWSCURRENT version, or it might not be attached to any version". An AWS
  maintainer: "Our backend cleans up the pending label on rotation completion, outside the rotation
  lambda" (aws-samples/aws-secrets-manager-rotation-lambdas#145); a user reports it staying on the
  new version after all four steps succeeded (same repository, #168). The user guide's CloudTrail
  page describes RotationAbandoned: "When you manually create a new version of a secret, you send a
  message signalling the abandonment of the current ongoing rotation ... Secrets Manager removes the
  AWSPENDING label". The switch pendingAfterRotation selects one end of that range: "kept" (the
  label stays wherever the function left it, through later writes too) or "cleared" (the service
  removes it when a rotation succeeds, and when a new AWSCURRENT version is written while it sits on
  another version, recording RotationAbandoned).
- "If you also manually update your secret value while automatic rotation is set up, then Secrets
  Manager considers that a valid rotation when it calculates the next rotation date" (user guide,
  "Rotation by Lambda function"): a new AWSCURRENT version moves LastRotatedDate and NextRotationDate
  as a finished rotation does. "Secrets Manager schedules the next rotation when the previous one is
  complete ... by adding the rotation interval (number of days) to the actual date of the last
  rotation" (user guide, "Troubleshoot rotation").

Requests are handled one at a time. moto's server is threaded but its version bookkeeping is not
atomic: two concurrent PutSecretValue calls could both demote the same AWSCURRENT version and leave
two versions labelled AWSCURRENT, which Secrets Manager never does. A rotation's invocations run on
their own thread, outside that lock, as the function's calls come back in as requests.

Control routes (not AWS's; JSON in and out):
- POST /_rotation/functions {"functionArn", "invokeUrl"}: where the function is invoked.
- POST /_rotation/secrets {"secretId", "pendingAfterRotation": "kept"|"cleared",
  "testVersionValue": "empty"|"current"}: a secret's variants (defaults: the environment variables
  MOTO_PENDING_AFTER_ROTATION and MOTO_TEST_VERSION_VALUE, else "kept" and "empty").
- POST /_rotation/age {"secretId", "seconds"}: makes the secret's versions that much older.
- GET /_rotation/events?secretId=ARN: {"running": n, "events": [{"eventName", "token"}]}, the
  rotation events Secrets Manager would write to CloudTrail (RotationStarted, RotationSucceeded,
  RotationFailed, RotationAbandoned, TestRotationStarted, TestRotationSucceeded,
  TestRotationFailed).

Usage: python tools/moto_server.py PORT [PARENT_PID]
With PARENT_PID the server exits when that process does, so a crashed test run leaves nothing behind.
"""

import json
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

from moto.secretsmanager import models
from moto.secretsmanager.exceptions import SecretsManagerClientError

MAX_VERSIONS = 100
PRUNE_AFTER_SECONDS = 24 * 60 * 60
ROTATION_ATTEMPTS = 3
INVOKE_TIMEOUT_SECONDS = 60
ALL_STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")

_one_at_a_time = threading.RLock()
_state = threading.Lock()
_functions = {}
_settings = {}
_events = {}
_running = {}
_DEFAULTS = {
    "pendingAfterRotation": os.environ.get("MOTO_PENDING_AFTER_ROTATION", "kept"),
    "testVersionValue": os.environ.get("MOTO_TEST_VERSION_VALUE", "empty"),
}
_CHOICES = {"pendingAfterRotation": ("kept", "cleared"), "testVersionValue": ("empty", "current")}


class LimitExceededException(SecretsManagerClientError):
    def __init__(self, message):
        super().__init__("LimitExceededException", message)


def _now():
    return time.time()


def _version_with(secret, stage):
    for version_id, version in secret.versions.items():
        if stage in version["version_stages"]:
            return version_id
    return None


def _setting(secret, name):
    with _state:
        return _settings.get(secret.arn, {}).get(name, _DEFAULTS[name])


def _record(arn, event_name, token):
    with _state:
        _events.setdefault(arn, []).append({"eventName": event_name, "token": token, "time": _now()})


def _find_secret(secret_id):
    for account in models.secretsmanager_backends.values():
        for backend in account.values():
            secret = backend.secrets.get(secret_id)
            if secret is not None:
                return secret
    return None


# ---- versions and labels

models.FakeSecret.default_version_id = property(
    lambda secret: _version_with(secret, "AWSCURRENT"), lambda secret, value: None
)


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


def _make_room(secret):
    """Before a new version: prune unlabelled versions older than 24 hours, oldest first, while 100
    or more remain; refuse when 100 remain (the quotas page, above)."""
    if len(secret.versions) < MAX_VERSIONS:
        return
    cutoff = _now() - PRUNE_AFTER_SECONDS
    prunable = sorted(
        (version["createdate"], version_id)
        for version_id, version in secret.versions.items()
        if not version["version_stages"] and version["createdate"] <= cutoff
    )
    while len(secret.versions) >= MAX_VERSIONS and prunable:
        del secret.versions[prunable.pop(0)[1]]
    if len(secret.versions) >= MAX_VERSIONS:
        raise LimitExceededException(
            f"Secret {secret.name} has {len(secret.versions)} versions, the quota for secret versions; Secrets Manager"
            " removes unlabeled versions only once they are 24 hours old."
        )


_add_secret = models.SecretsManagerBackend._add_secret


def _add_secret_within_quota(self, secret_id, secret_string=None, secret_binary=None, *args, version_id=None, **kwargs):
    secret = self.secrets.get(secret_id) if secret_id in self.secrets else None
    adds_version = secret_string is not None or secret_binary is not None
    if secret is not None and adds_version and (version_id is None or version_id not in secret.versions):
        _make_room(secret)
    return _add_secret(self, secret_id, secret_string, secret_binary, *args, version_id=version_id, **kwargs)


models.SecretsManagerBackend._add_secret = _add_secret_within_quota

_put_secret_value = models.SecretsManagerBackend.put_secret_value


def _put_secret_value_as_aws(self, secret_id, secret_string, secret_binary, client_request_token, version_stages):
    secret = self.secrets.get(secret_id) if self._is_valid_identifier(secret_id) else None
    before = set(secret.versions) if secret is not None else set()
    answer = _put_secret_value(self, secret_id, secret_string, secret_binary, client_request_token, version_stages)
    version_id = json.loads(answer).get("VersionId")
    if secret is not None and version_id not in before and "AWSCURRENT" in version_stages:
        _after_manual_write(secret, version_id)
    return answer


models.SecretsManagerBackend.put_secret_value = _put_secret_value_as_aws


def _after_manual_write(secret, version_id):
    """A new AWSCURRENT version written by a caller (not by a rotation's own label moves)."""
    if secret.rotation_enabled:
        _schedule_next(secret)
    pending = _version_with(secret, "AWSPENDING")
    if pending is not None and pending != version_id and _setting(secret, "pendingAfterRotation") == "cleared":
        secret.versions[pending]["version_stages"].remove("AWSPENDING")
        _record(secret.arn, "RotationAbandoned", pending)


def _schedule_next(secret):
    secret.last_rotation_date = int(_now())
    if secret.auto_rotate_after_days:
        secret.next_rotation_date = int(_now()) + int(secret.auto_rotate_after_days) * 86400


# ---- rotation


def _rotate_secret(
    self, secret_id, client_request_token=None, rotation_lambda_arn=None, rotation_rules=None, rotate_immediately=True
):
    if not self._is_valid_identifier(secret_id):
        raise models.SecretNotFoundException()
    secret = self.secrets[secret_id]
    if isinstance(secret, models.ReplicaSecret):
        raise models.OperationNotPermittedOnReplica
    if secret.is_deleted():
        raise models.InvalidRequestException(
            "You tried to perform the operation on a secret that's currently marked deleted."
        )
    if rotation_lambda_arn and len(rotation_lambda_arn) > 2048:
        raise models.InvalidParameterException("RotationLambdaARN must <= 2048 characters long.")
    days = (rotation_rules or {}).get("AutomaticallyAfterDays")
    if days is not None and not 1 <= int(days) <= 1000:
        raise models.InvalidParameterException("RotationRules.AutomaticallyAfterDays must be within 1-1000.")
    function = rotation_lambda_arn or secret.rotation_lambda_arn
    if not function:
        raise models.InvalidRequestException(
            "You tried to enable rotation on a secret that doesn't already have a Lambda function ARN configured"
            " and you didn't include such an ARN as a parameter in this call."
        )
    pending = _version_with(secret, "AWSPENDING")
    if pending is not None and pending != _version_with(secret, "AWSCURRENT"):
        with _state:
            running = _running.get(secret.arn, 0)
        if not running:
            _start(secret, function, pending, ALL_STEPS, test_only=False)
        raise models.InvalidRequestException("A previous rotation isn't complete. That rotation will be reattempted.")
    token = client_request_token or str(uuid.uuid4())
    self._client_request_token_validator(token)
    if token in secret.versions:
        raise models.ResourceExistsException(
            f"You can't use ClientRequestToken {token} because that value is already in use for a version of secret"
            f" {secret.arn}."
        )
    secret.rotation_requested = True
    secret.rotation_enabled = True
    secret.rotation_lambda_arn = function
    if days is not None:
        secret.auto_rotate_after_days = int(days)
    _make_room(secret)
    version = {"createdate": int(_now()), "version_id": token, "version_stages": ["AWSPENDING"]}
    if not rotate_immediately and _setting(secret, "testVersionValue") == "current":
        current = secret.versions.get(_version_with(secret, "AWSCURRENT") or "", {})
        for field in ("secret_string", "secret_binary"):
            if field in current:
                version[field] = current[field]
    if pending is not None:
        secret.versions[pending]["version_stages"].remove("AWSPENDING")
    secret.versions[token] = version
    if rotate_immediately:
        _start(secret, function, token, ALL_STEPS, test_only=False)
    else:
        _start(secret, function, token, ("testSecret",), test_only=True)
    return json.dumps({"ARN": secret.arn, "Name": secret.name, "VersionId": token})


models.SecretsManagerBackend.rotate_secret = _rotate_secret


def _start(secret, function, token, steps, test_only):
    with _state:
        _running[secret.arn] = _running.get(secret.arn, 0) + 1
    threading.Thread(target=_rotation, args=(secret, function, token, steps, test_only), daemon=True).start()


def _rotation(secret, function, token, steps, test_only):
    arn = secret.arn
    try:
        succeeded = False
        for _ in range(ROTATION_ATTEMPTS):
            _record(arn, "TestRotationStarted" if test_only else "RotationStarted", token)
            succeeded = all(_invoke(function, arn, token, step) for step in steps)
            if succeeded:
                break
        with _one_at_a_time:
            if test_only:
                version = secret.versions.get(token)
                if version is not None:
                    if "AWSPENDING" in version["version_stages"]:
                        version["version_stages"].remove("AWSPENDING")
                    if not version["version_stages"]:
                        del secret.versions[token]
                _record(arn, "TestRotationSucceeded" if succeeded else "TestRotationFailed", token)
            elif succeeded:
                version = secret.versions.get(token)
                if (
                    version is not None
                    and "AWSPENDING" in version["version_stages"]
                    and _setting(secret, "pendingAfterRotation") == "cleared"
                ):
                    version["version_stages"].remove("AWSPENDING")
                _schedule_next(secret)
                _record(arn, "RotationSucceeded", token)
            else:
                _record(arn, "RotationFailed", token)
    finally:
        with _state:
            _running[arn] -= 1


def _invoke(function, arn, token, step):
    with _state:
        url = _functions.get(function)
    if url is None:
        return False
    event = {"Step": step, "SecretId": arn, "ClientRequestToken": token, "RotationToken": str(uuid.uuid4())}
    name = urllib.parse.quote(function, safe="")
    request = urllib.request.Request(
        f"{url.rstrip('/')}/2015-03-31/functions/{name}/invocations",
        data=json.dumps(event).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=INVOKE_TIMEOUT_SECONDS) as response:
            response.read()
            return response.status == 200 and not response.headers.get("X-Amz-Function-Error")
    except (urllib.error.URLError, OSError):
        return False


# ---- control routes and the server


def _control(environ):
    path = environ.get("PATH_INFO", "")
    method = environ.get("REQUEST_METHOD", "GET")
    if method == "GET" and path == "/_rotation/events":
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        secret = _find_secret((query.get("secretId") or [""])[0])
        if secret is None:
            return 404, {"message": "no such secret"}
        with _state:
            return 200, {"running": _running.get(secret.arn, 0), "events": list(_events.get(secret.arn, []))}
    if method != "POST":
        return 405, {"message": "POST"}
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = json.loads(environ["wsgi.input"].read(length) or b"{}")
    if path == "/_rotation/functions":
        with _state:
            _functions[body["functionArn"]] = body["invokeUrl"]
        return 200, {}
    secret = _find_secret(body.get("secretId", ""))
    if secret is None:
        return 404, {"message": "no such secret"}
    if path == "/_rotation/secrets":
        chosen = {name: body[name] for name in _CHOICES if name in body}
        for name, value in chosen.items():
            if value not in _CHOICES[name]:
                return 400, {"message": f"{name} must be one of {_CHOICES[name]}"}
        with _state:
            _settings.setdefault(secret.arn, {}).update(chosen)
        return 200, {}
    if path == "/_rotation/age":
        with _one_at_a_time:
            for version in secret.versions.values():
                version["createdate"] -= int(body["seconds"])
        return 200, {}
    return 404, {"message": "no such control route"}


from moto.moto_server.werkzeug_app import DomainDispatcherApplication  # noqa: E402

_dispatch = DomainDispatcherApplication.__call__


def _serialised_dispatch(self, environ, start_response):
    if environ.get("PATH_INFO", "").startswith("/_rotation/"):
        status, answer = _control(environ)
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}[status]
        start_response(f"{status} {reason}", [("Content-Type", "application/json")])
        return [json.dumps(answer).encode()]
    with _one_at_a_time:
        return list(_dispatch(self, environ, start_response))


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
