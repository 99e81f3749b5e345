# SPDX-License-Identifier: Apache-2.0
# Who is who in the fake AWS: the configured accounts, IAM users and roles,
# the credentials it mints; and the endpoints that hand credentials out or use
# them: STS (AssumeRole, GetCallerIdentity, AssumeRoleWithWebIdentity,
# GetFederationToken), the console sign-in federation endpoint, IMDSv2 and the
# ECS credentials endpoint.

import base64
import hashlib
import hmac
import html
import json
import re
import secrets
import threading
import time
from urllib.parse import urlsplit

from proto import Response, error_response, query_result, x

# Minted credentials: AWS's shapes (ASIA + 16 base32 characters, a 40-character
# secret); the session token is opaque.
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
SESSION_NAME = re.compile(r"[A-Za-z0-9_+=,.@-]*")
EXTERNAL_ID = re.compile(r"[A-Za-z0-9_+=,.@:/-]*")
ROLE_ARN = re.compile(r"arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):iam::"
                      r"(\d{12}):role/(?:[!-~]*/)?([A-Za-z0-9_+=,.@-]{1,64})")
USER_ARN = re.compile(r"arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):user/"
                      r"(?:[!-~]*/)?([A-Za-z0-9_+=,.@-]{1,64})")
STS_DURATION_MIN, STS_DURATION_MAX = 900, 43200
CHAINED_MAX = 3600
FEDERATION_MAX = 129600
SIGNIN_TOKEN_TTL = 900
IMDS_TTL_MAX = 21600
MAX_TAGS = 50


def iso(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _unique_id(prefix, seed):
    d = hashlib.sha256(seed.encode()).digest()
    return prefix + "".join(_B32[b % 32] for b in d[:17])


class Principal:
    """A caller: an IAM user (long-term key) or a minted session."""

    def __init__(self, kind, arn, account, **kw):
        self.kind = kind               # user, assumed-role, federated-user
        self.arn = arn
        self.account = account
        self.partition = arn.split(":")[1]
        self.user_id = kw.get("user_id")
        self.name = kw.get("name")
        self.role_arn = kw.get("role_arn")
        self.session_name = kw.get("session_name")
        self.source_identity = kw.get("source_identity")
        self.chained = kw.get("chained", False)
        self.base = kw.get("base")     # what minted it
        self.tags = kw.get("tags", [])
        self.access_key_id = kw.get("access_key_id")
        self.secret = kw.get("secret")
        self.token = kw.get("token")
        self.expires = kw.get("expires")
        self.issued = kw.get("issued")

    @property
    def temporary(self):
        return self.kind != "user"


def describe(p):
    if p is None:
        return None
    d = {"type": p.kind, "arn": p.arn, "account": p.account}
    for k in ("role_arn", "session_name", "source_identity", "base"):
        if getattr(p, k):
            d[k] = getattr(p, k)
    if p.kind != "user":
        d["chained"] = p.chained
        d["expires"] = p.expires
    if p.tags:
        d["tags"] = p.tags
    return d


def _need(obj, key, kind, where):
    if key not in obj:
        raise ValueError("%s: missing %r" % (where, key))
    if not isinstance(obj[key], kind):
        raise ValueError("%s: %r has the wrong type" % (where, key))
    return obj[key]


def check_config(config):
    """Raise ValueError naming the first problem in the configuration."""
    known = {"accounts", "users", "roles", "imds", "ecs", "faults",
             "dynamodb_tables", "lambda_functions", "buckets", "comment"}
    unknown = set(config) - known
    if unknown:
        raise ValueError("unknown top-level keys: %s (known: %s)"
                         % (", ".join(sorted(unknown)),
                            ", ".join(sorted(known))))
    def keys(obj, allowed, where):
        if not isinstance(obj, dict):
            raise ValueError("%s must be an object" % where)
        bad = set(obj) - set(allowed)
        if bad:
            raise ValueError("%s: unknown keys %s (known: %s)"
                             % (where, ", ".join(sorted(bad)),
                                ", ".join(sorted(allowed))))
    for name in ("users", "roles", "dynamodb_tables", "lambda_functions",
                 "buckets", "faults"):
        if not isinstance(config.get(name, []), list):
            raise ValueError("%s must be a list" % name)
    for i, u in enumerate(config.get("users", [])):
        w = "users[%d]" % i
        keys(u, ("name", "account", "access_key_id", "secret_access_key",
                 "partition"), w)
        _need(u, "name", str, w)
        if not re.fullmatch(r"\d{12}", _need(u, "account", str, w)):
            raise ValueError("%s: account must be 12 digits" % w)
        if not re.fullmatch(r"AKIA[A-Z0-9]{12,124}",
                            _need(u, "access_key_id", str, w)):
            raise ValueError("%s: access_key_id must look like AKIA..." % w)
        _need(u, "secret_access_key", str, w)
    for i, r in enumerate(config.get("roles", [])):
        w = "roles[%d]" % i
        keys(r, ("arn", "max_session_duration", "trust"), w)
        if not ROLE_ARN.fullmatch(_need(r, "arn", str, w)):
            raise ValueError("%s: arn %r is not an IAM role ARN" % (w, r["arn"]))
        mx = r.get("max_session_duration", 3600)
        if not isinstance(mx, int) or not 3600 <= mx <= 43200:
            raise ValueError("%s: max_session_duration must be 3600..43200"
                             % w)
        t = r.get("trust", {})
        if not isinstance(t, dict):
            raise ValueError("%s: trust must be an object" % w)
        bad = set(t) - {"principals", "external_id", "set_source_identity",
                        "tag_session", "web_identity"}
        if bad:
            raise ValueError("%s.trust: unknown keys %s" % (w, sorted(bad)))
        for tok in t.get("web_identity", []):
            if not isinstance(tok, dict) or "token" not in tok:
                raise ValueError("%s.trust.web_identity: entries are objects "
                                 "with a token" % w)
    imds = config.get("imds")
    if imds is not None:
        keys(imds, ("role_arn", "region", "instance_id", "duration"), "imds")
        if not ROLE_ARN.fullmatch(_need(imds, "role_arn", str, "imds")):
            raise ValueError("imds: role_arn is not an IAM role ARN")
    ecs = config.get("ecs")
    for i, e in enumerate(ecs if isinstance(ecs, list) else
                          ([ecs] if ecs else [])):
        w = "ecs[%d]" % i
        keys(e, ("path", "authorization", "role_arn", "session_name",
                 "duration"), w)
        if not _need(e, "path", str, w).startswith("/"):
            raise ValueError("%s: path must start with /" % w)
        if not ROLE_ARN.fullmatch(_need(e, "role_arn", str, w)):
            raise ValueError("%s: role_arn is not an IAM role ARN" % w)
    for i, t in enumerate(config.get("dynamodb_tables", [])):
        w = "dynamodb_tables[%d]" % i
        keys(t, ("name", "key"), w)
        _need(t, "name", str, w)
        if not _need(t, "key", list, w) or not all(
                isinstance(k, str) for k in t["key"]):
            raise ValueError("%s: key is a list of attribute names" % w)
    for what in ("lambda_functions", "buckets"):
        if not all(isinstance(v, str) for v in config.get(what, [])):
            raise ValueError("%s: a list of names" % what)


class Identities:
    def __init__(self, config, clock):
        self.clock = clock
        self.lock = threading.Lock()
        self.users = {}
        for u in config.get("users", []):
            partition = u.get("partition", "aws")
            arn = "arn:%s:iam::%s:user/%s" % (partition, u["account"],
                                               u["name"])
            self.users[u["access_key_id"]] = Principal(
                "user", arn, u["account"], name=u["name"],
                user_id=_unique_id("AIDA", arn),
                access_key_id=u["access_key_id"],
                secret=u["secret_access_key"])
        self.roles = {}
        for r in config.get("roles", []):
            self.roles[r["arn"]] = r
        self.sessions = {}             # access key id -> Principal
        self.signin_tokens = {}
        self.imds_tokens = {}
        self.imds = config.get("imds")
        ecs = config.get("ecs") or []
        self.ecs = ecs if isinstance(ecs, list) else [ecs]
        self.handed_out = {}           # imds/ecs key -> Principal

    # --- credentials -----------------------------------------------------

    def lookup(self, access_key):
        with self.lock:
            p = self.users.get(access_key) or self.sessions.get(access_key)
        if p is None:
            return None
        return (p.secret, p.token, p.expires, p)

    def mint(self, kind, arn, account, duration, **kw):
        now = int(self.clock.now())
        ak = "ASIA" + "".join(secrets.choice(_B32) for _ in range(16))
        p = Principal(kind, arn, account, access_key_id=ak,
                      secret=base64.b64encode(secrets.token_bytes(30))
                      .decode(),
                      token="FwoGZXIvYXdzEFAKE" + base64.b64encode(
                          secrets.token_bytes(96)).decode(),
                      expires=now + duration, issued=now, **kw)
        with self.lock:
            self.sessions[ak] = p
        return p

    def sessions_public(self):
        with self.lock:
            return [dict(describe(p), access_key_id=k)
                    for k, p in self.sessions.items()]

    def role_session(self, role_arn, session_name, duration, **kw):
        m = ROLE_ARN.fullmatch(role_arn)
        partition, account, name = m.group(1), m.group(2), m.group(3)
        arn = "arn:%s:sts::%s:assumed-role/%s/%s" % (partition, account, name,
                                                      session_name)
        return self.mint("assumed-role", arn, account, duration,
                         role_arn=role_arn, session_name=session_name,
                         user_id=_unique_id("AROA", role_arn) + ":" +
                         session_name, name=name, **kw)

    def handed(self, key, role_arn, session_name, duration):
        """IMDS and ECS credentials: one set per source, renewed when less
        than 15 minutes are left, as the real endpoints rotate them."""
        with self.lock:
            p = self.handed_out.get(key)
        if p is None or p.expires - self.clock.now() < 900:
            p = self.role_session(role_arn, session_name, duration, base=key)
            with self.lock:
                self.handed_out[key] = p
        return p


def credentials_xml(p):
    return ("    <Credentials>\n      <AccessKeyId>%s</AccessKeyId>\n"
            "      <SecretAccessKey>%s</SecretAccessKey>\n"
            "      <SessionToken>%s</SessionToken>\n"
            "      <Expiration>%s</Expiration>\n    </Credentials>\n"
            % (p.access_key_id, x(p.secret), x(p.token), iso(p.expires)))


# --------------------------------------------------------------------------
# STS
# --------------------------------------------------------------------------

class StsError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _validation(value, field, constraint):
    shown = "null" if value is None else "'%s'" % value
    return StsError(400, "ValidationError",
                    "1 validation error detected: Value %s at '%s' failed to "
                    "satisfy constraint: %s" % (shown, field, constraint))


def _check_name(value, field, lo, hi, pattern=SESSION_NAME,
                pattern_text=r"[\w+=,.@-]*"):
    if value is None:
        raise _validation(None, field, "Member must not be null")
    if len(value) < lo:
        raise _validation(value, field, "Member must have length greater "
                          "than or equal to %d" % lo)
    if len(value) > hi:
        raise _validation(value, field, "Member must have length less than "
                          "or equal to %d" % hi)
    if not pattern.fullmatch(value):
        raise _validation(value, field, "Member must satisfy regular "
                          "expression pattern: " + pattern_text)


def _duration(params, default, hi, field="durationSeconds"):
    raw = params.get("DurationSeconds")
    if raw is None:
        return default, False
    if not re.fullmatch(r"\d{1,9}", raw):
        raise _validation(raw, field, "Member must be an integer")
    d = int(raw)
    if d < STS_DURATION_MIN:
        raise _validation(raw, field, "Member must have value greater than "
                          "or equal to %d" % STS_DURATION_MIN)
    if d > hi:
        raise _validation(raw, field, "Member must have value less than or "
                          "equal to %d" % hi)
    return d, True


def _denied(caller_arn, action, resource):
    return StsError(403, "AccessDenied", "User: %s is not authorized to "
                    "perform: %s on resource: %s" % (caller_arn, action,
                                                     resource))


def _trusts(role, caller):
    principals = role.get("trust", {}).get("principals", [])
    if isinstance(principals, str):
        principals = [principals]
    names = {caller.arn, caller.account,
             "arn:%s:iam::%s:root" % (caller.partition, caller.account)}
    if caller.role_arn:
        names.add(caller.role_arn)
    return "*" in principals or bool(names & set(principals))


def _tags(params):
    tags = []
    i = 1
    while "Tags.member.%d.Key" % i in params:
        k = params["Tags.member.%d.Key" % i]
        v = params.get("Tags.member.%d.Value" % i, "")
        if not 1 <= len(k) <= 128 or len(v) > 256:
            raise _validation(k, "tags.%d.member.key" % i, "Member must have "
                              "length 1..128 (key) and at most 256 (value)")
        tags.append({"Key": k, "Value": v})
        i += 1
    if len(tags) > MAX_TAGS:
        raise _validation(str(len(tags)), "tags", "Member must have length "
                          "less than or equal to %d" % MAX_TAGS)
    return tags


def sts_assume_role(app, req, caller):
    p = req.params
    role_arn = p.get("RoleArn")
    if role_arn is None:
        raise _validation(None, "roleArn", "Member must not be null")
    if len(role_arn) < 20:
        raise _validation(role_arn, "roleArn", "Member must have length "
                          "greater than or equal to 20")
    name = p.get("RoleSessionName")
    _check_name(name, "roleSessionName", 2, 64)
    duration, asked = _duration(p, 3600, STS_DURATION_MAX)
    ext = p.get("ExternalId")
    if ext is not None:
        _check_name(ext, "externalId", 2, 1224, EXTERNAL_ID,
                    r"[\w+=,.@:\/-]*")
    source = p.get("SourceIdentity")
    if source is not None:
        _check_name(source, "sourceIdentity", 2, 64)
        if source.lower().startswith("aws:"):
            raise _validation(source, "sourceIdentity", "Member must not "
                              "start with 'aws:'")
    tags = _tags(p)
    role = app.ids.roles.get(role_arn)
    if role is None or not _trusts(role, caller):
        raise _denied(caller.arn, "sts:AssumeRole", role_arn)
    want_ext = role.get("trust", {}).get("external_id")
    if want_ext is not None:
        allowed = want_ext if isinstance(want_ext, list) else [want_ext]
        if ext not in allowed:
            raise _denied(caller.arn, "sts:AssumeRole", role_arn)
    chained = caller.kind == "assumed-role"
    if chained and duration > CHAINED_MAX:
        raise StsError(400, "ValidationError", "The requested DurationSeconds "
                       "exceeds the 1 hour session limit for roles assumed by "
                       "role chaining.")
    if duration > role.get("max_session_duration", 3600):
        raise StsError(400, "ValidationError", "The requested DurationSeconds "
                       "exceeds the MaxSessionDuration set for this role.")
    # Source identity is sticky: a chained session keeps the caller's.
    if caller.source_identity is not None:
        if source is not None and source != caller.source_identity:
            raise StsError(403, "AccessDenied", "User: %s is not authorized "
                           "to perform: sts:SetSourceIdentity on resource: %s "
                           "(the source identity %s is already set and cannot "
                           "be changed)" % (caller.arn, role_arn,
                                            caller.source_identity))
        source = caller.source_identity
    trust = role.get("trust", {})
    if source is not None and not trust.get("set_source_identity", False):
        raise _denied(caller.arn, "sts:SetSourceIdentity", role_arn)
    if tags and not trust.get("tag_session", False):
        raise _denied(caller.arn, "sts:TagSession", role_arn)
    s = app.ids.role_session(role_arn, name, duration, chained=chained,
                             source_identity=source, tags=tags,
                             base=caller.arn)
    req.extra_record = {"minted": describe(s)}
    inner = ""
    if source is not None:
        inner += "    <SourceIdentity>%s</SourceIdentity>\n" % x(source)
    inner += ("    <AssumedRoleUser>\n      <AssumedRoleId>%s</AssumedRoleId>"
              "\n      <Arn>%s</Arn>\n    </AssumedRoleUser>\n"
              % (x(s.user_id), x(s.arn)))
    inner += credentials_xml(s)
    if tags:
        inner += "    <PackedPolicySize>%d</PackedPolicySize>\n" % min(
            99, 2 * len(tags))
    return query_result("AssumeRole", inner, req.request_id)


def sts_web_identity(app, req):
    p = req.params
    role_arn = p.get("RoleArn")
    if role_arn is None:
        raise _validation(None, "roleArn", "Member must not be null")
    name = p.get("RoleSessionName")
    _check_name(name, "roleSessionName", 2, 64)
    token = p.get("WebIdentityToken")
    if token is None:
        raise _validation(None, "webIdentityToken", "Member must not be null")
    if not 4 <= len(token) <= 20000:
        raise _validation("...", "webIdentityToken", "Member must have length "
                          "between 4 and 20000")
    duration, _ = _duration(p, 3600, STS_DURATION_MAX)
    known = None
    for arn, role in app.ids.roles.items():
        for t in role.get("trust", {}).get("web_identity", []):
            if hmac.compare_digest(t["token"].encode(), token.encode()):
                known = known or (arn, t)
                if arn == role_arn:
                    known = (arn, t)
    if known is None:
        raise StsError(400, "InvalidIdentityToken", "The ID token provided "
                       "is not one the identity provider issued (fakeaws does "
                       "not know this token)")
    arn, t = known
    if t.get("expires") is not None and app.clock.now() >= t["expires"]:
        raise StsError(400, "ExpiredTokenException", "Token expired: current "
                       "date/time %s must be before the expiration date/time "
                       "%s" % (iso(app.clock.now()), iso(t["expires"])))
    if arn != role_arn:
        raise StsError(403, "AccessDenied", "Not authorized to perform "
                       "sts:AssumeRoleWithWebIdentity")
    role = app.ids.roles[role_arn]
    if duration > role.get("max_session_duration", 3600):
        raise StsError(400, "ValidationError", "The requested DurationSeconds "
                       "exceeds the MaxSessionDuration set for this role.")
    s = app.ids.role_session(role_arn, name, duration, chained=False,
                             base="web-identity")
    req.extra_record = {"minted": describe(s)}
    provider = t.get("provider", "oidc.fakeaws.test")
    inner = ("    <Audience>%s</Audience>\n" % x(t.get("audience",
                                                    "sts.amazonaws.com")) +
             "    <AssumedRoleUser>\n      <AssumedRoleId>%s</AssumedRoleId>"
             "\n      <Arn>%s</Arn>\n    </AssumedRoleUser>\n"
             % (x(s.user_id), x(s.arn)) +
             "    <Provider>%s</Provider>\n" % x(provider) +
             credentials_xml(s) +
             "    <SubjectFromWebIdentityToken>%s"
             "</SubjectFromWebIdentityToken>\n"
             % x(t.get("subject", "fakeaws-subject")))
    return query_result("AssumeRoleWithWebIdentity", inner, req.request_id)


def sts_federation_token(app, req, caller):
    p = req.params
    name = p.get("Name")
    _check_name(name, "name", 2, 32)
    duration, _ = _duration(p, 43200, FEDERATION_MAX)
    if caller.kind != "user":
        raise StsError(403, "AccessDenied", "Cannot call GetFederationToken "
                       "with session credentials")
    tags = _tags(p)
    arn = "arn:%s:sts::%s:federated-user/%s" % (caller.partition,
                                                caller.account, name)
    s = app.ids.mint("federated-user", arn, caller.account, duration,
                     user_id="%s:%s" % (caller.account, name), name=name,
                     session_name=name, tags=tags, base=caller.arn)
    req.extra_record = {"minted": describe(s)}
    inner = (credentials_xml(s) +
             "    <FederatedUser>\n      <FederatedUserId>%s</FederatedUserId>"
             "\n      <Arn>%s</Arn>\n    </FederatedUser>\n"
             % (x(s.user_id), x(s.arn)) +
             "    <PackedPolicySize>%d</PackedPolicySize>\n" % (2 * len(tags)))
    return query_result("GetFederationToken", inner, req.request_id)


def sts_caller_identity(app, req, caller):
    uid = caller.user_id
    inner = ("    <Arn>%s</Arn>\n    <UserId>%s</UserId>\n"
             "    <Account>%s</Account>\n" % (x(caller.arn), x(uid),
                                              caller.account))
    return query_result("GetCallerIdentity", inner, req.request_id)


def sts(app, req):
    import services
    action = req.params.get("Action")
    try:
        if req.method not in ("GET", "POST"):
            raise StsError(405, "InvalidAction", "STS takes GET or POST")
        if action == "AssumeRoleWithWebIdentity":
            return sts_web_identity(app, req)
        v = app.check_signature(req)
        if not v.ok:
            return services.auth_error(req, v)
        caller = v.caller
        if action == "AssumeRole":
            return sts_assume_role(app, req, caller)
        if action == "GetCallerIdentity":
            return sts_caller_identity(app, req, caller)
        if action == "GetFederationToken":
            return sts_federation_token(app, req, caller)
        if action is None:
            raise StsError(400, "MissingAction", "Missing Action")
        raise StsError(400, "InvalidAction", "Could not find operation %s for "
                       "version 2011-06-15" % action)
    except StsError as e:
        return error_response("query", e.status, e.code, e.message,
                              req.request_id)


# --------------------------------------------------------------------------
# Console sign-in (federation endpoint)
# --------------------------------------------------------------------------

CONSOLE_HOST = re.compile(r"(?:[a-z0-9-]+\.)?(?:console\.aws\.amazon\.com|"
                          r"console\.amazonaws-us-gov\.com|"
                          r"console\.amazonaws\.cn|signin\.aws\.amazon\.com|"
                          r"signin\.amazonaws-us-gov\.com|"
                          r"signin\.amazonaws\.cn)")


def _page(status, title, rows, headers=()):
    cells = "".join('<tr><th>%s</th><td id="%s">%s</td></tr>\n'
                    % (html.escape(k), html.escape(i), html.escape(str(v)))
                    for i, k, v in rows)
    body = ("<!DOCTYPE html>\n<html><head><title>%s</title></head><body>\n"
            "<h1>%s</h1>\n<table>\n%s</table>\n</body></html>\n"
            % (html.escape(title), html.escape(title), cells))
    return Response(status, [("Content-Type", "text/html; charset=utf-8")]
                    + list(headers), body)


def _signin_error(status, message):
    r = Response(status, [("Content-Type", "text/plain; charset=utf-8")],
                 message + "\n")
    r.error_code = "SigninError"
    return r


def signin_token(app, req):
    p = req.params
    raw = p.get("Session")
    if raw is None:
        return _signin_error(400, "getSigninToken needs a Session parameter "
                             "(JSON with sessionId, sessionKey, sessionToken)")
    try:
        sess = json.loads(raw)
        ak, key, tok = sess["sessionId"], sess["sessionKey"], \
            sess["sessionToken"]
    except (ValueError, KeyError, TypeError):
        return _signin_error(400, "Session is not JSON with sessionId, "
                             "sessionKey and sessionToken")
    found = app.ids.lookup(ak)
    if found is None:
        return _signin_error(400, "the session credentials are not valid "
                             "(unknown access key)")
    secret, token, expires, who = found
    if not who.temporary:
        return _signin_error(400, "long-term IAM user keys cannot sign in "
                             "through the federation endpoint; use "
                             "AssumeRole or GetFederationToken credentials")
    if not (hmac.compare_digest(secret.encode(), str(key).encode()) and
            hmac.compare_digest(token.encode(), str(tok).encode())):
        return _signin_error(400, "the session credentials are not valid "
                             "(sessionKey or sessionToken does not match)")
    now = app.clock.now()
    if now >= expires:
        return _signin_error(400, "the session credentials have expired")
    sd = p.get("SessionDuration")
    if sd is not None:
        if who.chained:
            return _signin_error(400, "SessionDuration cannot be used with "
                                 "credentials from role chaining (their "
                                 "console session is capped at 1 hour)")
        if not re.fullmatch(r"\d{1,6}", sd) or not \
                STS_DURATION_MIN <= int(sd) <= STS_DURATION_MAX:
            return _signin_error(400, "SessionDuration must be %d..%d "
                                 "seconds" % (STS_DURATION_MIN,
                                              STS_DURATION_MAX))
        console = int(sd)
    elif who.chained:
        console = min(CHAINED_MAX, int(expires - now))
    elif who.kind == "federated-user":
        console = int(expires - now)
    else:
        console = 3600
    t = base64.urlsafe_b64encode(secrets.token_bytes(96)).decode().rstrip("=")
    with app.ids.lock:
        app.ids.signin_tokens[t] = {"who": who, "created": now,
                                    "console_duration": console,
                                    "used": False}
    req.extra_record = {"signin": {"step": "getSigninToken",
                                   "arn": who.arn,
                                   "session_duration": sd,
                                   "console_duration": console}}
    return Response(200, [("Content-Type", "application/json")],
                    json.dumps({"SigninToken": t}))


def signin_login(app, req):
    p = req.params
    for need in ("SigninToken", "Destination"):
        if not p.get(need):
            return _signin_error(400, "login needs %s" % need)
    dest = p["Destination"]
    d = urlsplit(dest)
    if d.scheme != "https" or not d.hostname:
        return _signin_error(400, "Destination must be an https URL")
    with app.ids.lock:
        entry = app.ids.signin_tokens.get(p["SigninToken"])
        state = None
        if entry is None:
            state = "unknown"
        elif entry["used"]:
            state = "already used"
        elif app.clock.now() - entry["created"] > SIGNIN_TOKEN_TTL:
            state = "expired"
        else:
            entry["used"] = True
    if state is not None:
        req.extra_record = {"signin": {"step": "login", "refused": state}}
        return _page(400, "Sign-in failed",
                     [("error", "Error", "The sign-in token is not valid (%s)."
                       % state)])
    who = entry["who"]
    req.extra_record = {"signin": {"step": "login", "arn": who.arn,
                                   "role_arn": who.role_arn,
                                   "session_name": who.session_name,
                                   "destination": dest,
                                   "issuer": p.get("Issuer")}}
    return _page(200, "Signed in to the AWS console (fakeaws)", [
        ("arn", "Signed in as", who.arn),
        ("role-arn", "Role", who.role_arn or ""),
        ("session-name", "Session", who.session_name or ""),
        ("source-identity", "Source identity", who.source_identity or ""),
        ("destination", "Destination", dest),
        ("issuer", "Issuer", p.get("Issuer", "")),
        ("console-duration", "Console session seconds",
         entry["console_duration"]),
    ], [("Set-Cookie", "aws-fakeaws-console=%s; Secure; HttpOnly"
         % secrets.token_hex(8))])


def signin_logout(app, req):
    redirect = req.params.get("redirect_uri")
    headers = [("Set-Cookie", "aws-fakeaws-console=; Max-Age=0; Secure")]
    if redirect:
        u = urlsplit(redirect)
        if u.scheme != "https" or not u.hostname or \
                not CONSOLE_HOST.fullmatch(u.hostname.lower()):
            return _signin_error(400, "redirect_uri must be an https URL on "
                                 "an AWS sign-in or console host")
        r = _page(302, "Signed out", [("redirect", "Next", redirect)],
                  headers + [("Location", redirect)])
    else:
        r = _page(200, "Signed out", [], headers)
    req.extra_record = {"signin": {"step": "logout", "redirect": redirect}}
    return r


def signin(app, req):
    if req.method != "GET":
        return _signin_error(405, "the federation endpoint takes GET")
    action = req.params.get("Action")
    if req.raw_path == "/federation":
        if action == "getSigninToken":
            return signin_token(app, req)
        if action == "login":
            return signin_login(app, req)
    if req.raw_path == "/oauth" and action == "logout":
        return signin_logout(app, req)
    return _signin_error(404, "unknown sign-in request %s Action=%s (this "
                         "fake knows /federation getSigninToken and login, "
                         "/oauth logout)" % (req.raw_path, action))


# --------------------------------------------------------------------------
# IMDSv2 and ECS
# --------------------------------------------------------------------------

CREDS_PATH = "/latest/meta-data/iam/security-credentials/"


def imds_action(req):
    if req.raw_path == "/latest/api/token":
        return "GetToken"
    if req.raw_path == CREDS_PATH:
        return "GetRoleName"
    if req.raw_path.startswith(CREDS_PATH):
        return "GetCredentials"
    return "GetMetadata"


def _text(status, text, headers=()):
    return Response(status, [("Content-Type", "text/plain")] + list(headers),
                    text)


def imds(app, req):
    ids = app.ids
    conf = ids.imds
    if conf is None:
        return _text(404, "IMDS is not configured in this fake\n")
    if req.raw_path == "/latest/api/token":
        if req.method != "PUT":
            return _text(405, "")
        if req.header("x-forwarded-for"):
            return _text(403, "")
        ttl = req.header("x-aws-ec2-metadata-token-ttl-seconds")
        if ttl is None or not ttl.isdigit() or \
                not 1 <= int(ttl) <= IMDS_TTL_MAX:
            return _text(400, "")
        tok = base64.urlsafe_b64encode(secrets.token_bytes(42)).decode()
        with ids.lock:
            ids.imds_tokens[tok] = app.clock.now() + int(ttl)
        return _text(200, tok, [("X-aws-ec2-metadata-token-ttl-seconds",
                                 ttl)])
    if req.method not in ("GET", "HEAD"):
        return _text(405, "")
    tok = req.header("x-aws-ec2-metadata-token")
    with ids.lock:
        exp = ids.imds_tokens.get(tok) if tok else None
    if exp is None or app.clock.now() >= exp:
        return _text(401, "")
    role_name = ROLE_ARN.fullmatch(conf["role_arn"]).group(3)
    path = req.raw_path
    if path == CREDS_PATH:
        return _text(200, role_name)
    if path.startswith(CREDS_PATH):
        if path[len(CREDS_PATH):] != role_name:
            return _text(404, "")
        p = ids.handed("imds", conf["role_arn"],
                       conf.get("instance_id", "i-0fa4e5a1c0ffee000"),
                       conf.get("duration", 21600))
        return Response(200, [("Content-Type", "text/plain")], json.dumps({
            "Code": "Success", "LastUpdated": iso(p.issued),
            "Type": "AWS-HMAC", "AccessKeyId": p.access_key_id,
            "SecretAccessKey": p.secret, "Token": p.token,
            "Expiration": iso(p.expires)}, indent=2))
    region = conf.get("region", "us-east-1")
    if path == "/latest/meta-data/placement/region":
        return _text(200, region)
    if path == "/latest/meta-data/instance-id":
        return _text(200, conf.get("instance_id", "i-0fa4e5a1c0ffee000"))
    if path == "/latest/dynamic/instance-identity/document":
        account = ROLE_ARN.fullmatch(conf["role_arn"]).group(2)
        return Response(200, [("Content-Type", "text/plain")], json.dumps({
            "accountId": account, "region": region,
            "instanceId": conf.get("instance_id", "i-0fa4e5a1c0ffee000")}))
    return _text(404, "")


def ecs(app, req):
    for i, e in enumerate(app.ids.ecs):
        if req.raw_path == e["path"] and not req.raw_query:
            break
    else:
        return Response(404, [("Content-Type", "application/json")],
                        json.dumps({"code": "NotFound", "message":
                                    "no credentials at this path"}))
    want = e.get("authorization")
    if want is not None:
        got = req.header("authorization") or ""
        if not hmac.compare_digest(got.encode(), want.encode()):
            r = Response(401 if not got else 403,
                         [("Content-Type", "application/json")],
                         json.dumps({"code": "AccessDenied", "message":
                                     "the Authorization token is missing or "
                                     "wrong"}))
            r.error_code = "AccessDenied"
            return r
    p = app.ids.handed("ecs%d" % i, e["role_arn"],
                       e.get("session_name", "ecs-task"),
                       e.get("duration", 21600))
    return Response(200, [("Content-Type", "application/json")], json.dumps({
        "AccessKeyId": p.access_key_id, "SecretAccessKey": p.secret,
        "Token": p.token, "Expiration": iso(p.expires),
        "RoleArn": e["role_arn"]}))
