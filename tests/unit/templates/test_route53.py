"""Route 53 record sets as typed records: names, types, and the load balancer they lead to."""

from __future__ import annotations

from fargate_api.templates.route53 import (
    load_balancer_of_dns_name,
    names_for,
    normalise_name,
    records,
    records_for,
)
from fargate_api.templates.values import AttributeRef, Text
from unit.templates.support import query, resource

ONE_STACK = """
Parameters:
  ZoneId: {Type: String, Default: Z123}
  NoDefault: {Type: String}
Resources:
  Alb:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties: {Subnets: [subnet-1]}
  Other:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties: {Subnets: [subnet-1]}
  Bucket: {Type: AWS::S3::Bucket}
  DomainRecord:
    Type: AWS::Route53::RecordSet
    Properties:
      HostedZoneId: !Ref ZoneId
      Name: API.Example.com.
      Type: A
      AliasTarget:
        DNSName: !GetAtt Alb.DNSName
        HostedZoneId: !GetAtt Alb.CanonicalHostedZoneID
        EvaluateTargetHealth: true
  CdkStyle:
    Type: AWS::Route53::RecordSet
    Properties:
      HostedZoneName: example.com.
      Name: www.example.com
      Type: A
      AliasTarget:
        DNSName: !Join ["", ["dualstack.", !GetAtt Other.DNSName]]
        HostedZoneId: !GetAtt Other.CanonicalHostedZoneID
  Cname:
    Type: AWS::Route53::RecordSet
    Properties:
      HostedZoneId: Z999
      Name: legacy.example.com
      Type: cname
      TTL: "300"
      ResourceRecords: [!GetAtt Alb.DNSName]
  Plain:
    Type: AWS::Route53::RecordSet
    Properties:
      HostedZoneId: Z999
      Name: mail.example.com
      Type: A
      TTL: 60
      ResourceRecords: [192.0.2.7, !Ref NoDefault]
  NotAnAlb:
    Type: AWS::Route53::RecordSet
    Properties:
      HostedZoneId: Z999
      Name: files.example.com
      Type: CNAME
      ResourceRecords: [!GetAtt Bucket.DomainName]
  UnknownName:
    Type: AWS::Route53::RecordSet
    Properties:
      HostedZoneId: Z999
      Name: !Ref NoDefault
      Type: A
      AliasTarget: {DNSName: !GetAtt Alb.DNSName, HostedZoneId: Z1}
  Group:
    Type: AWS::Route53::RecordSetGroup
    Properties:
      HostedZoneId: Z777
      RecordSets:
        - Name: "\\\\052.apps.example.com"
          Type: A
          AliasTarget: {DNSName: !GetAtt Alb.DNSName, HostedZoneId: Z1}
        - Name: txt.example.com
          Type: TXT
          HostedZoneId: Z888
          ResourceRecords: ['"v=spf1 -all"']
"""


def test_an_alias_to_a_load_balancer_is_read_with_its_target() -> None:
    q = query(ONE_STACK)
    found = {r.name: r for r in records(q)}
    record = found["api.example.com"]
    assert record.type == "A"
    assert record.load_balancer is resource(q, "Alb")
    assert record.alias is not None and record.alias.evaluate_target_health is True
    assert record.alias.load_balancer is resource(q, "Alb")
    assert record.hosted_zone == "Z123"  # the parameter's default
    assert record.path == ("Properties",)


def test_cdk_dualstack_prefix_and_hosted_zone_name() -> None:
    q = query(ONE_STACK)
    record = next(r for r in records(q) if r.name == "www.example.com")
    assert isinstance(record.alias and record.alias.dns_name, Text)
    assert record.load_balancer is resource(q, "Other")
    assert record.hosted_zone == "example.com."


def test_a_cname_whose_value_is_the_dns_name_leads_to_the_load_balancer() -> None:
    q = query(ONE_STACK)
    record = next(r for r in records(q) if r.name == "legacy.example.com")
    assert record.type == "CNAME" and record.ttl == 300 and record.alias is None
    assert record.load_balancer is resource(q, "Alb")


def test_literal_values_and_targets_outside_the_templates() -> None:
    q = query(ONE_STACK)
    found = {r.name: r for r in records(q)}
    plain = found["mail.example.com"]
    assert plain.load_balancer is None
    assert plain.literal_values == ("192.0.2.7",)  # the unknown parameter is left out
    assert len(plain.values) == 2
    assert found["files.example.com"].load_balancer is None  # a bucket, not a balancer


def test_a_name_not_known_statically_is_none_but_the_target_still_reads() -> None:
    q = query(ONE_STACK)
    unknown = next(r for r in records(q) if r.resource.logical_id == "UnknownName")
    assert unknown.name is None
    assert unknown.load_balancer is resource(q, "Alb")


def test_record_set_group_items_with_their_paths_and_zones() -> None:
    q = query(ONE_STACK)
    group = [r for r in records(q) if r.resource.logical_id == "Group"]
    assert [r.name for r in group] == ["*.apps.example.com", "txt.example.com"]
    assert [r.path for r in group] == [
        ("Properties", "RecordSets", 0),
        ("Properties", "RecordSets", 1),
    ]
    assert group[0].hosted_zone == "Z777"  # the group's zone
    assert group[1].hosted_zone == "Z888"  # an item's own zone wins
    assert group[0].load_balancer is resource(q, "Alb")
    assert group[1].load_balancer is None and group[1].type == "TXT"


def test_names_for_a_load_balancer_are_distinct_and_known() -> None:
    q = query(ONE_STACK)
    assert names_for(q, resource(q, "Alb")) == [
        "api.example.com",
        "legacy.example.com",
        "*.apps.example.com",
    ]
    assert names_for(q, resource(q, "Other")) == ["www.example.com"]
    assert len(list(records_for(q, resource(q, "Alb")))) == 4  # with the unknown name


PARENT = """
Resources:
  LoadBalancerStack:
    Type: AWS::CloudFormation::Stack
    Properties: {TemplateURL: lb.yml}
  DnsStack:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: dns.yml
      Parameters:
        AlbDns: !GetAtt LoadBalancerStack.Outputs.DnsName
        AlbZone: !GetAtt LoadBalancerStack.Outputs.Zone
"""
LB = """
Resources:
  PublicLoadBalancer:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties: {Subnets: [subnet-1]}
Outputs:
  DnsName: {Value: !GetAtt PublicLoadBalancer.DNSName}
  Zone: {Value: !GetAtt PublicLoadBalancer.CanonicalHostedZoneID}
"""
DNS = """
Parameters:
  AlbDns: {Type: String}
  AlbZone: {Type: String}
Resources:
  DomainRecord:
    Type: AWS::Route53::RecordSet
    Properties:
      HostedZoneId: Z1
      Name: api.example.com
      Type: A
      AliasTarget: {DNSName: !Ref AlbDns, HostedZoneId: !Ref AlbZone}
"""


def test_the_load_balancer_is_found_across_nested_stacks() -> None:
    q = query(root="parent.yml", files={"parent.yml": PARENT, "lb.yml": LB, "dns.yml": DNS})
    (record,) = records(q)
    balancer = resource(q, "PublicLoadBalancer")
    assert record.load_balancer is balancer
    assert record.resource.stack != balancer.stack
    assert names_for(q, balancer) == ["api.example.com"]


def test_normalise_name_and_dns_name_markers() -> None:
    assert normalise_name("Api.Example.COM.") == "api.example.com"
    assert normalise_name("\\052.example.com") == "*.example.com"
    assert normalise_name("  ") is None
    assert normalise_name(7) is None
    q = query(ONE_STACK)
    alb = resource(q, "Alb")
    assert load_balancer_of_dns_name(q, AttributeRef(alb.stack, "Alb", "DNSName")) is alb
    # Another attribute of the balancer, two markers in one string, a plain string: no.
    assert load_balancer_of_dns_name(q, AttributeRef(alb.stack, "Alb", "LoadBalancerName")) is None
    two = Text(
        (AttributeRef(alb.stack, "Alb", "DNSName"), ".", AttributeRef(alb.stack, "Alb", "DNSName"))
    )
    assert load_balancer_of_dns_name(q, two) is None
    assert load_balancer_of_dns_name(q, "my-alb.elb.amazonaws.com") is None
