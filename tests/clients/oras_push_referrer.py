"""Pushes a file as an OCI artifact whose subject is an existing manifest, with oras (PyPI).

Usage: oras_push_referrer.py HOST USER PASSWORD REPO SUBJECT_MEDIA_TYPE SUBJECT_DIGEST SUBJECT_SIZE FILE
Prints the pushed manifest's digest (from the registry's Docker-Content-Digest header).
"""
import os
import sys

import oras.client
import requests
import oras.oci

host, user, password, repo, media_type, digest, size, path = sys.argv[1:]
client = oras.client.OrasClient(hostname=host, insecure=True)
client.login(username=user, password=password, hostname=host)
# oras-py (0.2.43) asks for a new token only after a 403; this registry, like Quay and
# distribution, answers a token lacking push with 401 insufficient_scope, so give oras-py the
# token a spec-following client gets from that challenge: pull and push on the repository.
grant = requests.get(
    f"http://{host}/v2/auth",
    params={"service": host, "scope": f"repository:{repo}:pull,push"},
    auth=(user, password),
    timeout=30,
)
grant.raise_for_status()
client.auth.set_token_auth(grant.json()["token"])
subject = oras.oci.Subject(mediaType=media_type, digest=digest, size=int(size))
os.chdir(os.path.dirname(os.path.abspath(path)))
resp = client.push(files=[os.path.basename(path)], target=f"{host}/{repo}:signature", subject=subject)
if resp.status_code != 201:
    sys.exit(f"push failed: {resp.status_code} {resp.text}")
print(resp.headers.get("Docker-Content-Digest", ""))
