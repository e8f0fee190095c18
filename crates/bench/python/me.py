"""GET /me in Python: the caller's identity from the claims API Gateway's JWT authorizer passed
on, the same JSON as the Rust `me` function (crates/functions/me, http_api::Me), so that
`cargo xtask bench` can compare cold starts under the same Runtime API emulator. Run as
`python -m awslambdaric me.handler`. Standard library only, like a minimal real handler.
"""

import json

PROBLEM_TYPE = "https://notes.example/problems/unauthorized"


def _problem(detail):
    return {
        "statusCode": 401,
        "headers": {"content-type": "application/problem+json"},
        "body": json.dumps(
            {"type": PROBLEM_TYPE, "title": "Unauthorized", "status": 401, "detail": detail}
        ),
        "isBase64Encoded": False,
    }


def _seconds(claims, name):
    value = claims.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return int(float(value))


def _groups(value):
    text = (value or "").strip()
    if not (text.startswith("[") and text.endswith("]")):
        return [text] if text else []
    inner = text[1:-1]
    if inner.lstrip().startswith('"'):
        return [g for g in json.loads(text) if g]
    return inner.split()


def handler(event, context):
    claims = (
        ((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt") or {}
    ).get("claims")
    if not claims:
        return _problem("no authorizer context: the route must use the JWT authorizer")
    token_use = claims.get("token_use")
    if token_use not in ("id", "access"):
        return _problem("claim token_use is not `id` or `access`")
    client_claim = "aud" if token_use == "id" else "client_id"
    sub, client_id = claims.get("sub"), claims.get(client_claim)
    if not sub or not client_id or claims.get("exp") is None:
        return _problem("a required claim is missing")
    verified = claims.get("email_verified")
    me = {
        "sub": sub,
        "username": claims.get("cognito:username") or claims.get("username") or None,
        "email": claims.get("email") or None,
        "email_verified": None if verified is None else verified == "true",
        "groups": _groups(claims.get("cognito:groups")),
        "scopes": [s for s in (claims.get("scope") or "").split(" ") if s],
        "token_use": token_use,
        "client_id": client_id,
        "auth_time": _seconds(claims, "auth_time"),
        "expires_at": _seconds(claims, "exp"),
    }
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(me, separators=(",", ":")),
        "isBase64Encoded": False,
    }
