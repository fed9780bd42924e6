# ruff: noqa: E501  (YAML data: flow mappings stay on one line to read as resources)
"""A single-stack template that follows the pattern in every respect: 0 findings.

Rule tests apply one small text mutation to it and expect exactly that rule to fire,
which proves each rule can fail and that rules do not overlap.
"""

CLEAN = """\
Parameters:
  Image: {Type: String, Default: 'registry.example.com/api:1.2.3'}
  Port: {Type: Number, Default: 8080}
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties: {CidrBlock: 10.0.0.0/16}
  FlowLogGroup:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties: {RetentionInDays: 90}
  FlowLog:
    Type: AWS::EC2::FlowLog
    Properties: {ResourceId: !Ref Vpc, ResourceType: VPC, TrafficType: ALL, LogGroupName: !Ref FlowLogGroup}
  LockDefaultSG:
    Type: Custom::RestrictDefaultSecurityGroup
    Properties: {ServiceToken: !Sub 'arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:x', GroupId: !GetAtt Vpc.DefaultSecurityGroup}
  Igw: {Type: AWS::EC2::InternetGateway}
  Attach:
    Type: AWS::EC2::VPCGatewayAttachment
    Properties: {VpcId: !Ref Vpc, InternetGatewayId: !Ref Igw}
  PublicA:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.0.0/20, AvailabilityZone: !Select [0, !GetAZs ''], MapPublicIpOnLaunch: false}
  PublicB:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.16.0/20, AvailabilityZone: !Select [1, !GetAZs '']}
  PrivateA:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.128.0/20, AvailabilityZone: !Select [0, !GetAZs '']}
  PrivateB:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.144.0/20, AvailabilityZone: !Select [1, !GetAZs '']}
  PrivateC:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.160.0/20, AvailabilityZone: !Select [2, !GetAZs '']}
  PublicRoutes:
    Type: AWS::EC2::RouteTable
    Properties: {VpcId: !Ref Vpc}
  PublicDefault:
    Type: AWS::EC2::Route
    Properties: {RouteTableId: !Ref PublicRoutes, DestinationCidrBlock: 0.0.0.0/0, GatewayId: !Ref Igw}
  PublicAAssoc:
    Type: AWS::EC2::SubnetRouteTableAssociation
    Properties: {SubnetId: !Ref PublicA, RouteTableId: !Ref PublicRoutes}
  PublicBAssoc:
    Type: AWS::EC2::SubnetRouteTableAssociation
    Properties: {SubnetId: !Ref PublicB, RouteTableId: !Ref PublicRoutes}
  NatIp:
    Type: AWS::EC2::EIP
    Properties: {Domain: vpc}
  Nat:
    Type: AWS::EC2::NatGateway
    Properties: {SubnetId: !Ref PublicA, AllocationId: !GetAtt NatIp.AllocationId}
  PrivateRoutes:
    Type: AWS::EC2::RouteTable
    Properties: {VpcId: !Ref Vpc}
  PrivateDefault:
    Type: AWS::EC2::Route
    Properties: {RouteTableId: !Ref PrivateRoutes, DestinationCidrBlock: 0.0.0.0/0, NatGatewayId: !Ref Nat}
  PrivateAAssoc:
    Type: AWS::EC2::SubnetRouteTableAssociation
    Properties: {SubnetId: !Ref PrivateA, RouteTableId: !Ref PrivateRoutes}
  PrivateBAssoc:
    Type: AWS::EC2::SubnetRouteTableAssociation
    Properties: {SubnetId: !Ref PrivateB, RouteTableId: !Ref PrivateRoutes}
  PrivateCAssoc:
    Type: AWS::EC2::SubnetRouteTableAssociation
    Properties: {SubnetId: !Ref PrivateC, RouteTableId: !Ref PrivateRoutes}
  EcrApi:
    Type: AWS::EC2::VPCEndpoint
    Properties: {VpcId: !Ref Vpc, ServiceName: !Sub 'com.amazonaws.${AWS::Region}.ecr.api'}
  EcrDkr:
    Type: AWS::EC2::VPCEndpoint
    Properties: {VpcId: !Ref Vpc, ServiceName: !Sub 'com.amazonaws.${AWS::Region}.ecr.dkr'}
  S3:
    Type: AWS::EC2::VPCEndpoint
    Properties: {VpcId: !Ref Vpc, ServiceName: !Sub 'com.amazonaws.${AWS::Region}.s3'}
  Logs:
    Type: AWS::EC2::VPCEndpoint
    Properties: {VpcId: !Ref Vpc, ServiceName: !Sub 'com.amazonaws.${AWS::Region}.logs'}
  LbSG:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: listener ports only
      VpcId: !Ref Vpc
      SecurityGroupIngress:
        - {IpProtocol: tcp, FromPort: 80, ToPort: 80, CidrIp: 0.0.0.0/0, Description: HTTP for the redirect}
        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 0.0.0.0/0, Description: HTTPS}
  Lb:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties:
      Scheme: internet-facing
      Subnets: [!Ref PublicA, !Ref PublicB]
      SecurityGroups: [!Ref LbSG]
      LoadBalancerAttributes:
        - {Key: idle_timeout.timeout_seconds, Value: '30'}
        - {Key: routing.http.drop_invalid_header_fields.enabled, Value: 'true'}
        - {Key: access_logs.s3.enabled, Value: 'true'}
        - {Key: deletion_protection.enabled, Value: 'true'}
  Http:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: !Ref Lb
      Port: 80
      Protocol: HTTP
      DefaultActions: [{Type: redirect, RedirectConfig: {Protocol: HTTPS, Port: '443', StatusCode: HTTP_301}}]
  Https:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: !Ref Lb
      Port: 443
      Protocol: HTTPS
      SslPolicy: ELBSecurityPolicy-TLS13-1-2-2021-06
      DefaultActions: [{Type: forward, TargetGroupArn: !Ref Targets}]
  Targets:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties:
      TargetType: ip
      Port: !Ref Port
      Protocol: HTTP
      VpcId: !Ref Vpc
      HealthCheckIntervalSeconds: 10
      UnhealthyThresholdCount: 2
      TargetGroupAttributes: [{Key: deregistration_delay.timeout_seconds, Value: '45'}]
  ServiceSG:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: tasks
      VpcId: !Ref Vpc
      SecurityGroupEgress: [{IpProtocol: '-1', CidrIp: 0.0.0.0/0, Description: via NAT}]
  ServiceFromLb:
    Type: AWS::EC2::SecurityGroupIngress
    Properties: {GroupId: !Ref ServiceSG, IpProtocol: tcp, FromPort: !Ref Port, ToPort: !Ref Port, SourceSecurityGroupId: !Ref LbSG, Description: container port from the LB}
  AppLogs:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties: {RetentionInDays: 30}
  Repository:
    Type: AWS::ECR::Repository
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties:
      ImageTagMutability: IMMUTABLE
      ImageScanningConfiguration: {ScanOnPush: true}
      EncryptionConfiguration: {EncryptionType: AES256}
      LifecyclePolicy: {LifecyclePolicyText: '{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":10},"action":{"type":"expire"}}]}'}
  Task:
    Type: AWS::ECS::TaskDefinition
    Metadata:
      fargate-api:
        build: {Container: api, DockerContext: api, Dockerfile: Dockerfile, DockerPlatform: linux/arm64, ImageDigestParameter: ImageDigest}
    Properties:
      NetworkMode: awsvpc
      RequiresCompatibilities: [FARGATE]
      RuntimePlatform: {OperatingSystemFamily: LINUX, CpuArchitecture: ARM64}
      Cpu: '256'
      Memory: '512'
      ExecutionRoleArn: !Sub 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/exec'
      ContainerDefinitions:
        - Name: api
          Image: !Ref Image
          User: '1000:1000'
          ReadonlyRootFilesystem: true
          StopTimeout: 60
          PortMappings: [{ContainerPort: !Ref Port}]
          Environment: [{Name: LOG_LEVEL, Value: info}, {Name: DB_SECRET_ARN, Value: !Sub 'arn:${AWS::Partition}:secretsmanager:x'}]
          Secrets: [{Name: DB_PASSWORD, ValueFrom: !Sub 'arn:${AWS::Partition}:secretsmanager:x'}]
  TargetErrors:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: AWS/ApplicationELB
      MetricName: HTTPCode_Target_5XX_Count
      Dimensions: [{Name: TargetGroup, Value: !GetAtt Targets.TargetGroupFullName}, {Name: LoadBalancer, Value: !GetAtt Lb.LoadBalancerFullName}]
      Statistic: Sum
      Period: 60
      EvaluationPeriods: 2
      Threshold: 5
      ComparisonOperator: GreaterThanThreshold
      TreatMissingData: notBreaching
  Service:
    Type: AWS::ECS::Service
    DependsOn: [Https]
    Properties:
      LaunchType: FARGATE
      DesiredCount: 3
      TaskDefinition: !Ref Task
      HealthCheckGracePeriodSeconds: 30
      DeploymentConfiguration:
        DeploymentCircuitBreaker: {Enable: true, Rollback: true}
        Alarms: {AlarmNames: [!Ref TargetErrors], Enable: true, Rollback: true}
      NetworkConfiguration:
        AwsvpcConfiguration:
          AssignPublicIp: DISABLED
          SecurityGroups: [!Ref ServiceSG]
          Subnets: [!Ref PrivateA, !Ref PrivateB, !Ref PrivateC]
      LoadBalancers: [{ContainerName: api, ContainerPort: !Ref Port, TargetGroupArn: !Ref Targets}]
"""
