"""Checks a CloudFormation template before the pipeline deploys it (python3 standard library only).

    python3 lint/cfn_lint.py TEMPLATE [--parameters [LABEL=]JSON]... [--capabilities CAP,...] [--require-output NAME]...

It reads the template (YAML in the subset of yaml_subset.py, or JSON) and reports, with exit status 1,
what CloudFormation would reject or what would break this pipeline:

- unknown top-level sections, a wrong AWSTemplateFormatVersion, no Resources or more than 500;
- resources: a Type that is not AWS::Service::Resource or Custom::Name, unknown resource attributes,
  DependsOn or Condition naming nothing;
- references: Ref, Fn::GetAtt, ${...} in Fn::Sub and Fn::If/Condition naming no parameter, resource,
  pseudo parameter or condition;
- parameters: no Type or an unknown one, a Default outside AllowedValues, a parameter the
  pipeline's ParameterOverrides (--parameters) names that the template does not declare, a value
  outside its AllowedValues, a parameter with neither a Default nor a value from every --parameters;
- capabilities: IAM resources without CAPABILITY_IAM, named IAM resources without
  CAPABILITY_NAMED_IAM, a Transform without CAPABILITY_AUTO_EXPAND (when --capabilities is given);
- outputs: an output without Value, a --require-output the template does not produce (the
  pipeline reads #{StagingStack.WebsiteURL}), more than 200 outputs.

Warnings (unused parameters and conditions) are printed but do not fail the check. It is no
substitute for `aws cloudformation validate-template` or cfn-lint, which know every resource type's
properties; it is what can be checked honestly without them.
"""

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from yaml_subset import YamlError, loads  # noqa: E402

SECTIONS = {"AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules", "Mappings",
            "Conditions", "Transform", "Resources", "Outputs"}
RESOURCE_KEYS = {"Type", "Properties", "DependsOn", "Condition", "DeletionPolicy", "UpdateReplacePolicy",
                 "Metadata", "CreationPolicy", "UpdatePolicy"}
PSEUDO = {"AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition", "AWS::Region",
          "AWS::StackId", "AWS::StackName", "AWS::URLSuffix"}
PARAMETER_TYPES = re.compile(
    r"^(String|Number|List<Number>|CommaDelimitedList"
    r"|AWS::[A-Za-z0-9]+::[A-Za-z0-9]+::[A-Za-z0-9]+(::[A-Za-z0-9]+)?"
    r"|List<AWS::[A-Za-z0-9]+::[A-Za-z0-9]+::[A-Za-z0-9]+(::[A-Za-z0-9]+)?>"
    r"|AWS::SSM::Parameter::(Name|Value<.+>))$"
)
RESOURCE_TYPE = re.compile(r"^(AWS::[A-Za-z0-9]+::[A-Za-z0-9]+(::[A-Za-z0-9]+)?|Custom::[A-Za-z0-9_@-]+)$")
LOGICAL_ID = re.compile(r"^[A-Za-z0-9]+$")
SUB_VARIABLE = re.compile(r"\$\{(?!!)([^}]+)\}")
IAM_TYPES = {"AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group", "AWS::IAM::Policy",
             "AWS::IAM::ManagedPolicy", "AWS::IAM::InstanceProfile", "AWS::IAM::AccessKey",
             "AWS::IAM::UserToGroupAddition"}
IAM_NAME_PROPERTIES = {"RoleName", "UserName", "GroupName", "ManagedPolicyName", "InstanceProfileName"}
MAX_TEMPLATE_BYTES = 1_000_000  # a template read from S3, as the CloudFormation action does


class Report:
    def __init__(self):
        self.errors = []
        self.warnings = []

    def error(self, where, message):
        self.errors.append(f"{where}: {message}")

    def warn(self, where, message):
        self.warnings.append(f"{where}: {message}")


def walk(node, path):
    """Yields (path, node) for every node below `node`."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}/{index}")


def intrinsic(node):
    """(function, argument) for a one-key intrinsic-function mapping, else (None, None)."""
    if isinstance(node, dict) and len(node) == 1:
        (key, value), = node.items()
        if key == "Ref" or key == "Condition" or key.startswith("Fn::"):
            return key, value
    return None, None


def parse(text):
    """A JSON template (it starts with {) or a YAML one."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return json.loads(text)
    return loads(text)


def lint(template, parameter_sets=(), capabilities=None, required_outputs=(), size=0):
    report = Report()
    if size > MAX_TEMPLATE_BYTES:
        report.error("template", f"{size} bytes; CloudFormation takes at most {MAX_TEMPLATE_BYTES}")
    if not isinstance(template, dict):
        report.error("template", "expected a mapping of sections")
        return report
    for key in template:
        if key not in SECTIONS:
            report.error(key, f"unknown section; expected one of {', '.join(sorted(SECTIONS))}")
    version = template.get("AWSTemplateFormatVersion")
    if version is not None and str(version) != "2010-09-09":
        report.error("AWSTemplateFormatVersion", f"{version!r}; the only version is 2010-09-09")

    parameters = template.get("Parameters") or {}
    resources = template.get("Resources")
    conditions = template.get("Conditions") or {}
    outputs = template.get("Outputs") or {}
    for section, value in (("Parameters", parameters), ("Conditions", conditions), ("Outputs", outputs)):
        if not isinstance(value, dict):
            report.error(section, "expected a mapping")
            return report
    if not isinstance(resources, dict) or not resources:
        report.error("Resources", "required: a mapping with at least one resource")
        return report
    if len(resources) > 500:
        report.error("Resources", f"{len(resources)} resources; CloudFormation allows 500")

    names = set(parameters) | set(resources) | PSEUDO
    used_parameters, used_conditions = set(), set()

    # -- parameters ---------------------------------------------------------------------------
    for name, parameter in parameters.items():
        where = f"Parameters/{name}"
        if not LOGICAL_ID.match(name):
            report.error(where, "a logical ID has only letters and digits")
        if name in resources:
            report.error(where, "a resource has the same logical ID")
        if not isinstance(parameter, dict) or "Type" not in parameter:
            report.error(where, "Type is required")
            continue
        if not PARAMETER_TYPES.match(str(parameter["Type"])):
            report.error(f"{where}/Type", f"unknown parameter type {parameter['Type']}")
        allowed = parameter.get("AllowedValues")
        if allowed is not None and not isinstance(allowed, list):
            report.error(f"{where}/AllowedValues", "expected a list")
            allowed = None
        if allowed is not None and "Default" in parameter and str(parameter["Default"]) not in map(str, allowed):
            report.error(f"{where}/Default", f"{parameter['Default']} is not one of AllowedValues {allowed}")

    for index, values in enumerate(parameter_sets):
        label, values = values if isinstance(values, tuple) else (None, values)
        where = f"parameters {label or '#' + str(index + 1)}"
        for name, value in values.items():
            if name not in parameters:
                report.error(where, f"sets {name}, which the template does not declare (CloudFormation rejects it)")
                continue
            allowed = parameters[name].get("AllowedValues")
            if isinstance(allowed, list) and str(value) not in map(str, allowed):
                report.error(where, f"{name}={value} is not one of AllowedValues {allowed}")
        for name, parameter in parameters.items():
            if isinstance(parameter, dict) and "Default" not in parameter and name not in values:
                report.error(where, f"does not set {name}, which has no Default")

    # -- resources ----------------------------------------------------------------------------
    needs_iam = needs_named_iam = False
    for name, resource in resources.items():
        where = f"Resources/{name}"
        if not LOGICAL_ID.match(name):
            report.error(where, "a logical ID has only letters and digits")
        if not isinstance(resource, dict):
            report.error(where, "expected a mapping with Type")
            continue
        for key in resource:
            if key not in RESOURCE_KEYS:
                report.error(f"{where}/{key}", f"unknown resource attribute; expected one of {', '.join(sorted(RESOURCE_KEYS))}")
        kind = resource.get("Type")
        if not isinstance(kind, str) or not RESOURCE_TYPE.match(kind):
            report.error(f"{where}/Type", f"{kind!r} is not AWS::Service::Resource or Custom::Name")
        if kind in IAM_TYPES:
            needs_iam = True
            properties = resource.get("Properties") or {}
            if isinstance(properties, dict) and IAM_NAME_PROPERTIES & set(properties):
                needs_named_iam = True
        depends = resource.get("DependsOn", [])
        for target in depends if isinstance(depends, list) else [depends]:
            if target not in resources:
                report.error(f"{where}/DependsOn", f"{target} is not a resource")
            elif target == name:
                report.error(f"{where}/DependsOn", "a resource cannot depend on itself")
        condition = resource.get("Condition")
        if condition is not None:
            used_conditions.add(condition)
            if condition not in conditions:
                report.error(f"{where}/Condition", f"{condition} is not a condition")
        properties = resource.get("Properties")
        if properties is not None and not isinstance(properties, dict):
            report.error(f"{where}/Properties", "expected a mapping")

    # -- references everywhere ----------------------------------------------------------------
    def check_refs(node, root):
        for path, item in walk(node, root):
            function, argument = intrinsic(item)
            if function == "Ref":
                if not isinstance(argument, str) or argument not in names:
                    report.error(path, f"Ref {argument} names no parameter, resource or pseudo parameter")
                used_parameters.add(argument)
            elif function == "Fn::GetAtt":
                target = argument[0] if isinstance(argument, list) and len(argument) == 2 else None
                if target is None:
                    report.error(path, "Fn::GetAtt needs [Resource, Attribute]")
                elif target not in resources:
                    report.error(path, f"Fn::GetAtt {target} names no resource")
            elif function == "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else (
                    (argument[0], argument[1]) if isinstance(argument, list) and len(argument) == 2
                    and isinstance(argument[0], str) and isinstance(argument[1], dict) else (None, None))
                if text is None:
                    report.error(path, "Fn::Sub needs a string or [string, {variables}]")
                    continue
                for variable in SUB_VARIABLE.findall(text):
                    head = variable.split(".", 1)[0]
                    if variable in variables or head in variables:
                        continue
                    if "." in variable and not variable.startswith("AWS::"):
                        if head not in resources:
                            report.error(path, f"${{{variable}}} names no resource")
                    elif variable not in names:
                        report.error(path, f"${{{variable}}} names no parameter, resource or pseudo parameter")
                    used_parameters.add(variable)
            elif function == "Fn::If":
                if not isinstance(argument, list) or len(argument) != 3:
                    report.error(path, "Fn::If needs [Condition, ValueIfTrue, ValueIfFalse]")
                    continue
                used_conditions.add(argument[0])
                if argument[0] not in conditions:
                    report.error(path, f"Fn::If {argument[0]} is not a condition")
            elif function == "Condition" and isinstance(argument, str):
                used_conditions.add(argument)
                if argument not in conditions:
                    report.error(path, f"Condition {argument} is not a condition")

    for section in ("Conditions", "Resources", "Outputs", "Metadata", "Rules"):
        if section in template:
            check_refs(template[section], section)

    for name in parameters:
        if name not in used_parameters:
            report.warn(f"Parameters/{name}", "declared but never used")
    for name in conditions:
        if name not in used_conditions:
            report.warn(f"Conditions/{name}", "declared but never used")

    # -- outputs ------------------------------------------------------------------------------
    if len(outputs) > 200:
        report.error("Outputs", f"{len(outputs)} outputs; CloudFormation allows 200")
    for name, output in outputs.items():
        if not isinstance(output, dict) or "Value" not in output:
            report.error(f"Outputs/{name}", "Value is required")
    for name in required_outputs:
        if name not in outputs:
            report.error("Outputs", f"{name} is required (the pipeline reads it as a stack output) but not declared")

    # -- capabilities -------------------------------------------------------------------------
    if capabilities is not None:
        if needs_named_iam and "CAPABILITY_NAMED_IAM" not in capabilities:
            report.error("Capabilities", "named IAM resources need CAPABILITY_NAMED_IAM")
        elif needs_iam and not {"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"} & set(capabilities):
            report.error("Capabilities", "IAM resources need CAPABILITY_IAM")
        if "Transform" in template and "CAPABILITY_AUTO_EXPAND" not in capabilities:
            report.error("Capabilities", "a Transform needs CAPABILITY_AUTO_EXPAND")
    return report


def parameter_set(text):
    """`[LABEL=]{"Name": "value", ...}` -> (label or None, dict); the label names the set in messages."""
    label, brace, rest = text.partition("{")
    if not brace or (label and not label.endswith("=")):
        raise ValueError(f"--parameters {text}: expected [LABEL=]{{JSON object}}")
    values = json.loads(brace + rest)
    if not isinstance(values, dict):
        raise ValueError(f"--parameters {text}: expected a JSON object")
    return (label[:-1] or None, values)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Check a CloudFormation template.")
    parser.add_argument("template")
    parser.add_argument("--parameters", action="append", default=[], metavar="[LABEL=]JSON",
                        help="a ParameterOverrides object the pipeline deploys the template with (repeatable)")
    parser.add_argument("--capabilities", help="the Capabilities the pipeline grants, comma-separated")
    parser.add_argument("--require-output", action="append", default=[], metavar="NAME",
                        help="an output the pipeline reads (repeatable)")
    args = parser.parse_args(argv)
    path = Path(args.template)
    try:
        text = path.read_text(encoding="utf-8")
        template = parse(text)
        parameter_sets = [parameter_set(p) for p in args.parameters]
    except (OSError, YamlError, ValueError) as error:
        print(f"{path}: {error}", file=sys.stderr)
        return 1
    capabilities = None if args.capabilities is None else [c.strip() for c in args.capabilities.split(",") if c.strip()]
    report = lint(template, parameter_sets, capabilities, args.require_output, len(text.encode()))
    for warning in report.warnings:
        print(f"{path}: warning: {warning}")
    for error in report.errors:
        print(f"{path}: error: {error}", file=sys.stderr)
    if report.errors:
        print(f"{path}: {len(report.errors)} error(s)", file=sys.stderr)
        return 1
    resources = template.get("Resources", {})
    print(f"{path}: OK: {len(resources)} resources, {len(template.get('Parameters') or {})} parameters, "
          f"{len(template.get('Outputs') or {})} outputs ({', '.join(template.get('Outputs') or {})})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
