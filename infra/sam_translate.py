#!/usr/bin/env python3
"""Translates infra/template.yaml from AWS SAM to the CloudFormation `sam deploy` hands over, offline.

cfn-lint checks the SAM template as it is written; what SAM generates from it (the functions' versions,
permissions and roles, their logical ids) is only seen after the transform. `make lint` runs cfn-lint on
this script's output as well, so a generated resource whose logical id collides with one of ours, or a
circular dependency between resources (E3004), fails CI instead of the deploy.

The translator is AWS's own (PyPI `aws-sam-translator`, what the SAM CLI and CloudFormation's transform
run). It needs no AWS account: the Region is a placeholder, no managed policy is looked up (the template
names none), and each function's CodeUri, a local zip `sam deploy` uploads, is given as the S3 URI it
would be uploaded to.

Usage: sam_translate.py TEMPLATE OUTPUT.json
"""

import json
import os
import pathlib
import sys

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from samtranslator.model.exceptions import InvalidDocumentException  # noqa: E402
from samtranslator.translator.transform import transform  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402


class NoManagedPolicies:
    """The template's roles are its own: there are no managed policy names to resolve."""

    def load(self):
        return {}


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    source, output = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    template = yaml_parse(source.read_text())
    for name, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function" and "CodeUri" in properties:
            properties["CodeUri"] = f"s3://sam-deploy-bucket/{name}.zip"
    try:
        translated = transform(template, {}, NoManagedPolicies())
    except InvalidDocumentException as refused:
        for cause in refused.causes:
            print(f"{source}: SAM cannot translate it: {cause.message}", file=sys.stderr)
        return 1
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(translated, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
