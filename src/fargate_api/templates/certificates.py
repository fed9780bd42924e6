"""ACM certificates and the HTTPS listeners that present them, as typed records.

`check` asks whether a listener's certificates cover the host names its rules route, the
twin which names to put on its own certificates, the diagram what to label: each needs
the names of a certificate (DomainName and SubjectAlternativeNames), how it is validated,
and which certificate a listener uses, whether the listener names it (Certificates) or an
`AWS::ElasticLoadBalancingV2::ListenerCertificate` adds it. A certificate given as an ARN
literal or a parameter is not in the templates: its names are unknown, and `certificate`
stays None for the reader to treat as "unknown, not wrong".

`covers` is ACM's (and TLS's) rule for a name on a certificate: exact, or a left-most
`*.` wildcard that stands for exactly one label.
"""

from __future__ import annotations

from dataclasses import dataclass

from fargate_api.templates.model import PropertyPath, Resource
from fargate_api.templates.props import as_list, as_str, get
from fargate_api.templates.query import StackQuery
from fargate_api.templates.topology import LISTENER

CERTIFICATE = "AWS::CertificateManager::Certificate"
LISTENER_CERTIFICATE = "AWS::ElasticLoadBalancingV2::ListenerCertificate"
# ACM's default when ValidationMethod is left out.
DEFAULT_VALIDATION = "EMAIL"


@dataclass(frozen=True)
class ValidationOption:
    domain_name: str | None  # lower case; None when not known statically
    hosted_zone: object  # HostedZoneId as resolved: a string, a marker, or None (not set)
    validation_domain: str | None  # e-mail validation's domain


@dataclass(frozen=True)
class CertificateView:
    resource: Resource
    domain_name: str | None  # lower case; None when not known statically
    alternative_names: tuple[str, ...]  # the known ones, lower case
    names_known: bool  # False when DomainName or a SubjectAlternativeName is not a string
    validation_method: str  # "DNS" or "EMAIL" (upper case, ACM's default when left out)
    validation: tuple[ValidationOption, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Every known name, the DomainName first."""
        first = (self.domain_name,) if self.domain_name else ()
        return first + tuple(n for n in self.alternative_names if n != self.domain_name)

    def covers(self, host: str) -> bool:
        return any(covers(name, host) for name in self.names)


@dataclass(frozen=True)
class ListenerCertificateView:
    """One certificate a listener presents."""

    source: Resource  # the listener, or the ListenerCertificate resource that adds it
    path: PropertyPath  # where its CertificateArn is written in `source`
    value: object  # CertificateArn as resolved: an ARN string, a Ref marker, ...
    certificate: CertificateView | None  # None: not an ACM certificate of these templates


def read_certificate(resource: Resource) -> CertificateView:
    props = resource.properties
    domain = as_str(get(props, "DomainName"))
    raw_alternatives = get(props, "SubjectAlternativeNames")
    alternatives = as_list(raw_alternatives)
    known = domain is not None and (
        raw_alternatives is None
        or (isinstance(raw_alternatives, list) and all(isinstance(a, str) for a in alternatives))
    )
    method = as_str(get(props, "ValidationMethod"))
    return CertificateView(
        resource=resource,
        domain_name=_name(domain),
        alternative_names=tuple(n for n in (_name(a) for a in alternatives) if n),
        names_known=known,
        validation_method=(method or DEFAULT_VALIDATION).upper(),
        validation=tuple(
            ValidationOption(
                domain_name=_name(get(option, "DomainName")),
                hosted_zone=get(option, "HostedZoneId"),
                validation_domain=as_str(get(option, "ValidationDomain")),
            )
            for option in as_list(get(props, "DomainValidationOptions"))
        ),
    )


def certificates(query: StackQuery) -> list[CertificateView]:
    return [read_certificate(r) for r in query.resources(CERTIFICATE)]


def listener_certificates(query: StackQuery, listener: Resource) -> list[ListenerCertificateView]:
    """The listener's own Certificates (its default first), then those that
    ListenerCertificate resources add to it."""
    found = [
        _view(query, listener, ("Properties", "Certificates", i, "CertificateArn"), item)
        for i, item in enumerate(as_list(get(listener.properties, "Certificates")))
    ]
    for extra in query.referrers(listener, LISTENER_CERTIFICATE, "ListenerArn"):
        found += [
            _view(query, extra, ("Properties", "Certificates", i, "CertificateArn"), item)
            for i, item in enumerate(as_list(get(extra.properties, "Certificates")))
        ]
    return found


def https_listeners(query: StackQuery) -> list[Resource]:
    """The listeners that terminate TLS for HTTP: protocol HTTPS as written."""
    return [
        r
        for r in query.resources(LISTENER)
        if (as_str(get(r.properties, "Protocol")) or "").upper() == "HTTPS"
    ]


def covers(name: str, host: str) -> bool:
    """Whether a certificate name covers `host` (a host header value, which may itself be
    an ELB pattern with `*` and `?`): equal, case aside, or `*.rest` for one more label
    in front of `rest`. A host pattern counts as covered when every host it stands for
    in its left-most label is: `api-*.example.com` by `*.example.com`, not
    `*.api.example.com` (two labels) nor `*example.com` (any name ending so)."""
    name, host = name.lower().rstrip("."), host.lower().rstrip(".")
    if name == host:
        return True
    if not name.startswith("*."):
        return False
    label, dot, rest = host.partition(".")
    return bool(dot) and bool(label) and rest == name[2:] and "*" not in rest and "?" not in rest


def _view(
    query: StackQuery, source: Resource, path: PropertyPath, item: object
) -> ListenerCertificateView:
    value = get(item, "CertificateArn")
    found = query.deref(value)
    certificate = (
        read_certificate(found) if found is not None and found.type == CERTIFICATE else None
    )
    return ListenerCertificateView(source=source, path=path, value=value, certificate=certificate)


def _name(value: object) -> str | None:
    """A name as DNS compares it: lower case, no trailing dot; None if not a string."""
    text = as_str(value)
    if text is None:
        return None
    return text.strip().rstrip(".").lower() or None
