"""template.yaml as CloudFormation receives it: packaged (code URIs on S3, as `sam package` writes
them) and run through the SAM transform (aws-sam-translator, the library `sam deploy` and the
CloudFormation transform use). cfn-lint on the SAM source misses what the transform creates: the
roles, permissions and event source mappings, and cycles between them (E3004).

    python -m checks.transform [--out build/transformed.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

from local import template

PACKAGED_CODE_PROPERTIES = ("CodeUri", "ContentUri", "DefinitionUri")
REGION = "us-east-1"


def packaged(document: dict[str, Any]) -> dict[str, Any]:
    """A copy with every local code path replaced by an S3 URI, as `sam package` uploads them."""
    copied = copy.deepcopy(document)
    for name, resource in copied.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        for key in PACKAGED_CODE_PROPERTIES:
            if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
                properties[key] = f"s3://directormatch-artifacts/{name}/{key}.zip"
    return copied


def transformed(document: dict[str, Any] | None = None) -> dict[str, Any]:
    """The CloudFormation template the SAM transform makes of `document` (default: template.yaml)."""
    from samtranslator.translator.transform import transform

    source = packaged(template.load() if document is None else document)
    # The translator reads the region (for ARN partitions) from the environment.
    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = os.environ.get("AWS_REGION", previous or REGION)
    try:
        # No managed policy loader: the template names managed policies by ARN only.
        result: dict[str, Any] = transform(source, {}, None)
    finally:
        if previous is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, help="write here (default: stdout)")
    args = parser.parse_args(argv)
    text = json.dumps(transformed(), indent=1, sort_keys=True) + "\n"
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
