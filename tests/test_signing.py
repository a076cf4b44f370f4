"""The request's signature against the SDK's own ``Utils.get_authorization`` (the reference), for the
same headers: client/signing.py makes it from the SDK's pieces with the constant part made once."""

from __future__ import annotations

import re
import time

import pytest
from alibabacloud_credentials.models import CredentialModel
from alibabacloud_tea_openapi.utils import Utils

from airflow_provider_ice.client import signing

CREDENTIALS = {
    "access key": CredentialModel(access_key_id="LTAIkey", access_key_secret="secret", provider_name="static_ak"),
    "sts token": CredentialModel(
        access_key_id="STS.key", access_key_secret="s3cr3t", security_token="token/with+odd=chars", provider_name="sts"
    ),
}
QUERIES = {
    "get": ("GetAIWorkflowTask", {"TaskId": "t-1"}),
    "start": ("StartAIWorkflow", {"WorkflowId": "wf", "Inputs": '{"a": "b c~d/é"}', "UserData": "run 1 & 2"}),
}


class _Signable:
    def __init__(self, query: dict[str, str], headers: dict[str, str]) -> None:
        self.method, self.pathname, self.query, self.headers = "POST", "/", query, headers


@pytest.mark.parametrize("credential", CREDENTIALS.values(), ids=list(CREDENTIALS))
@pytest.mark.parametrize(("action", "query"), QUERIES.values(), ids=list(QUERIES))
def test_the_signature_is_the_sdks_for_the_same_headers(credential, action, query):
    for _ in range(2):  # the second from the cached template
        headers = signing.signed_headers(
            "ice.cn-shanghai.aliyuncs.com", action, signing.canonical_query(query), credential
        )
        unsigned = {k: v for k, v in headers.items() if k != "Authorization"}
        reference = Utils.get_authorization(
            _Signable(query, unsigned),
            "ACS3-HMAC-SHA256",
            signing.EMPTY_PAYLOAD_HASH,
            credential.access_key_id,
            credential.access_key_secret,
        )
        assert headers["Authorization"] == reference


def test_each_call_gets_a_fresh_128_bit_nonce_and_the_current_time():
    credential = CREDENTIALS["access key"]
    nonces = {
        signing.signed_headers("h", "GetAIWorkflowTask", "", credential)["x-acs-signature-nonce"] for _ in range(1000)
    }
    assert len(nonces) == 1000 and all(re.fullmatch(r"[0-9a-f]{32}", n) for n in nonces)
    before = Utils.get_timestamp()
    stamp = signing.signed_headers("h", "GetAIWorkflowTask", "", credential)["x-acs-date"]
    assert before <= stamp <= Utils.get_timestamp()
    assert stamp == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) or stamp == before
