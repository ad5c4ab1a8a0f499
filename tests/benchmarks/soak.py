"""`make bench --soak`: a fresh sandbox's RSS around the memory soak, all over HTTP."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from load import ADMIN, PROPERTY, REDIRECT, free_port, pkce_pair, start

BIN = Path(sys.executable).parent


def memory_soak(env: dict[str, str]) -> dict[str, float]:
    """RSS (MB) of a fresh sandbox around tests/test_soak_memory.py's soak, run twice, every
    request through the real endpoints.

    A soak: 20,000 codes (one in four redeemed), 15,000 client-credentials tokens, 5,000
    rotations over 1,000 sessions with an access token revoked in each, one in five
    replayed and one in five revoked by its client; then the clock moves 400 days. The
    second soak shows whether the first left anything that grows.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start([str(BIN / "messpunkt-sandbox")], f"{base}/openapi.json",
                   {**env, "MESSPUNKT_PORT": str(port), "MESSPUNKT_ISSUER": base})  # fmt: skip
    service = ("sandbox-service-client", "sandbox-service-client-secret-change-me")
    verifier, challenge = pkce_pair()
    consent = {
        "client_id": "sandbox-demo-client", "redirect_uri": REDIRECT, "state": "soak",
        "scope": "read:units read:devices read:readings", "code_challenge": challenge,
        "code_challenge_method": "S256", "property": PROPERTY, "decision": "approve",
    }  # fmt: skip
    demo = {"client_id": "sandbox-demo-client"}

    def rss_mb() -> float:
        status = Path(f"/proc/{server.pid}/status").read_text()
        (line,) = [line for line in status.splitlines() if line.startswith("VmRSS:")]
        return int(line.split()[1]) / 1024

    def post(http: requests.Session, path: str, form: dict, **kwargs: Any) -> requests.Response:
        response = http.post(f"{base}{path}", data=form, allow_redirects=False, timeout=30,
                             **kwargs)  # fmt: skip
        if response.status_code not in (200, 302, 400):  # 400: a replay, refused as it must be
            raise SystemExit(f"soak: {path} answered {response.status_code}: {response.text}")
        return response

    def login(http: requests.Session, redeem: bool) -> dict[str, str]:
        location = post(http, "/oauth/authorize", consent).headers["Location"]
        code = location.split("code=")[1].split("&")[0]
        if not redeem:
            return {}
        form = {**demo, "grant_type": "authorization_code", "code": code,
                "redirect_uri": REDIRECT, "code_verifier": verifier}  # fmt: skip
        return post(http, "/oauth/token", form).json()  # type: ignore[no-any-return]

    def chunk(index: int) -> None:
        with requests.Session() as http:
            for n in range(index, 20_000, 8):
                body = login(http, redeem=n % 4 == 0)
                if n % 4 == 0 and n < 4_000:  # 1,000 sessions rotate five times each
                    post(http, "/oauth/revoke", {**demo, "token": body["access_token"]})
                    first = token = body["refresh_token"]
                    for _ in range(5):
                        form = {**demo, "grant_type": "refresh_token", "refresh_token": token}
                        token = post(http, "/oauth/token", form).json()["refresh_token"]
                    if n % 20 == 0:
                        form = {**demo, "grant_type": "refresh_token", "refresh_token": first}
                        post(http, "/oauth/token", form)
                    elif n % 20 == 4:
                        post(http, "/oauth/revoke", {**demo, "token": token})
            for _ in range(index, 15_000, 8):
                post(http, "/oauth/token", {"grant_type": "client_credentials"}, auth=service)

    try:
        with requests.Session() as http:  # every path once, so the baseline has its imports
            login(http, redeem=True)
            post(http, "/oauth/token", {"grant_type": "client_credentials"}, auth=service)
        rss = {"before": rss_mb()}
        for soak in ("first", "second"):
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(chunk, range(8)))
            rss[f"{soak} soaked"] = rss_mb()
            requests.post(f"{base}/sandbox/clock/advance", json={"by": "P400D"}, headers=ADMIN,
                          timeout=60).raise_for_status()  # fmt: skip
            rss[f"{soak} purged"] = rss_mb()
        return rss
    finally:
        server.terminate()


def report(rss: dict[str, float]) -> list[str]:
    """Print the soak's table; name it as failed when its target is missed."""
    print()
    print("| memory soak (a fresh server, all over HTTP) | RSS MB | to before | target |")
    print("| --- | ---: | ---: | ---: |")
    for name, value in rss.items():
        label = name if name == "before" else f"{name}: " + (
            "20,000 codes, 15,000 service tokens, 5,000 rotations" if "soaked" in name
            else "the clock moved past every lifetime")  # fmt: skip
        goal = "≤ 1.2" if name == "first purged" else "—"
        print(f"| {label} | {value:.0f} | {value / rss['before']:.2f} | {goal} |")
    return ["memory soak"] if rss["first purged"] / rss["before"] > 1.2 else []
