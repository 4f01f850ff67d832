import unittest

from cfn_lint import lint, parameter_set
from yaml_subset import loads

MINIMAL = """
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Environment:
    Type: String
    AllowedValues: [staging, production]
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      Tags:
        - Key: Environment
          Value: !Ref Environment
Outputs:
  WebsiteURL:
    Value: !GetAtt Bucket.WebsiteURL
"""


def errors(text, **options):
    return lint(loads(text), **options).errors


class FindsTest(unittest.TestCase):
    def test_minimal_template_is_clean(self):
        self.assertEqual(errors(MINIMAL, required_outputs=["WebsiteURL"]), [])

    def test_missing_resources(self):
        self.assertEqual(errors("Description: nothing\n"), ["Resources: required: a mapping with at least one resource"])

    def test_dangling_references(self):
        text = MINIMAL.replace("!Ref Environment", "!Ref Enviroment").replace(
            "!GetAtt Bucket.WebsiteURL", '!Sub "http://${Bukket}/${AWS::Region}/${Missing.Arn}"')
        self.assertEqual(errors(text), [
            "Resources/Bucket/Properties/Tags/0/Value: Ref Enviroment names no parameter, resource or pseudo parameter",
            "Outputs/WebsiteURL/Value: ${Bukket} names no parameter, resource or pseudo parameter",
            "Outputs/WebsiteURL/Value: ${Missing.Arn} names no resource",
        ])

    def test_bad_type_attribute_and_depends_on(self):
        text = MINIMAL.replace("Type: AWS::S3::Bucket", "Type: S3Bucket\n    DependsOn: Nothing\n    DeletePolicy: Retain")
        self.assertEqual(errors(text), [
            "Resources/Bucket/DeletePolicy: unknown resource attribute; expected one of Condition, CreationPolicy, "
            "DeletionPolicy, DependsOn, Metadata, Properties, Type, UpdatePolicy, UpdateReplacePolicy",
            "Resources/Bucket/Type: 'S3Bucket' is not AWS::Service::Resource or Custom::Name",
            "Resources/Bucket/DependsOn: Nothing is not a resource",
        ])

    def test_parameter_overrides_are_checked_against_the_template(self):
        sets = [("staging", {"Environment": "prod", "InstanceType": "t3.small"}), {}]
        self.assertEqual(errors(MINIMAL, parameter_sets=sets), [
            "parameters staging: Environment=prod is not one of AllowedValues ['staging', 'production']",
            "parameters staging: sets InstanceType, which the template does not declare (CloudFormation rejects it)",
            "parameters #2: does not set Environment, which has no Default",
        ])

    def test_parameter_sets_on_the_command_line(self):
        self.assertEqual(parameter_set('staging={"A": "1"}'), ("staging", {"A": "1"}))
        self.assertEqual(parameter_set('{"A": "1"}'), (None, {"A": "1"}))
        for bad in ("staging", 'staging:{"A": 1}', "[1]", "x=[1]"):
            with self.assertRaises(ValueError):
                parameter_set(bad)

    def test_required_outputs_and_capabilities(self):
        template = loads(MINIMAL.replace(
            "Outputs:",
            "  Role:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: fixed\nOutputs:"))
        report = lint(template, capabilities=["CAPABILITY_IAM"], required_outputs=["WebsiteURL", "ApiURL"])
        self.assertEqual(report.errors, [
            "Outputs: ApiURL is required (the pipeline reads it as a stack output) but not declared",
            "Capabilities: named IAM resources need CAPABILITY_NAMED_IAM",
        ])

    def test_unused_parameters_and_conditions_are_warnings(self):
        text = MINIMAL.replace("!Ref Environment", "fixed").replace(
            "Resources:", "Conditions:\n  IsProd: !Equals [a, b]\nResources:")
        report = lint(loads(text))
        self.assertEqual(report.errors, [])
        self.assertEqual(report.warnings, ["Parameters/Environment: declared but never used",
                                           "Conditions/IsProd: declared but never used"])

    def test_default_outside_allowed_values(self):
        text = MINIMAL.replace("AllowedValues: [staging, production]", "AllowedValues: [staging, production]\n    Default: dev")
        self.assertEqual(errors(text), ["Parameters/Environment/Default: dev is not one of AllowedValues ['staging', 'production']"])


if __name__ == "__main__":
    unittest.main()
