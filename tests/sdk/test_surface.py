"""The whole SDK surface: every one of the 33 operations of `VpcepClient` is one vpcep serves
(none answers 501), and each has a test of its own in this suite."""

from __future__ import annotations

import re
from pathlib import Path

from huaweicloudsdkvpcep.v1 import VpcepClient


def test_every_sdk_operation_is_called_by_some_test():
    sdk_ops = {name[:-len("_invoker")] for name in dir(VpcepClient) if name.endswith("_invoker")}
    assert len(sdk_ops) == 33, sorted(sdk_ops)
    here = Path(__file__).parent
    called = set()
    for test in here.glob("test_*.py"):
        if test.name == Path(__file__).name:
            continue
        called |= set(re.findall(r"\.([a-z_]+)\(", test.read_text()))
    called |= set(re.findall(r"\.([a-z_]+)\(", (here / "harness.py").read_text()))
    assert sdk_ops - called == set(), "operations no SDK test calls"
