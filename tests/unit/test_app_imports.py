"""The API module loads only what a public read needs: heavy libraries belong to the handlers
that use them (cold start, issue 8). Each check runs in a fresh interpreter, since this test
process has long imported everything."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Libraries of other paths: JSON Schema (submissions), PyJWT and requests (sign-in, webhooks),
# Stripe (payments), fpdf2/segno (slips, QR codes), standardwebhooks (deliveries), holidays
# (deadlines), and boto3 itself (clients come from one botocore session: integrations/aws.py).
HEAVY = ("jsonschema", "jwt", "cryptography", "requests", "stripe", "fpdf", "segno", "PIL", "standardwebhooks",
         "holidays", "boto3", "moto")

_CHILD = """
import json, sys
import app
{then}
print(json.dumps(sorted({{name.split(".")[0] for name in sys.modules}})))
"""


def _loaded_after(then: str = "") -> set[str]:
    # The local stage's settings, with names of resources that do not exist and no endpoint:
    # nothing the child does may reach AWS.
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    env = {**config.get("environment_variables", {}), **config["stages"]["local"].get("environment_variables", {}),
           "MOTCUA_TABLE_NAME": "motcua-none", "MOTCUA_UPLOADS_BUCKET": "motcua-none-uploads",
           "MOTCUA_DOCUMENTS_BUCKET": "motcua-none-documents", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT),
           "AWS_REGION": "ap-southeast-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    result = subprocess.run([sys.executable, "-c", _CHILD.format(then=then)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60, check=True)
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def test_importing_the_api_loads_no_heavy_library() -> None:
    loaded = _loaded_after()
    assert "chalice" in loaded and "app" in loaded  # the child did import the API
    assert sorted(loaded & set(HEAVY)) == []


def test_a_public_request_through_the_middleware_loads_none_either() -> None:
    # A code that cannot exist is answered 404 before any AWS call, through the same route,
    # middleware and access log as GET /procedures/{code}.
    loaded = _loaded_after("""
from chalice.test import Client
with Client(app.app) as client:
    response = client.http.get("/procedures/not%20a%20code")
assert response.status_code == 404, response.body
""")
    assert sorted(loaded & set(HEAVY)) == []


def test_the_collector_runs_again_after_the_import() -> None:
    # app.py pauses cyclic collection while it imports and freezes what it built; requests must
    # find the collector on again.
    loaded = _loaded_after("""
import gc
assert gc.isenabled() and gc.get_freeze_count() > 0
""")
    assert "app" in loaded
