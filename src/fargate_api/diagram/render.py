"""Lays a DiagramModel out with the `diagrams` library (Graphviz's `dot` underneath).

Only drawing happens here; every fact comes from the model. `diagrams` writes next to
a file name it derives itself and deletes a scratch file beside it, so it renders into
a private temporary folder and the result is moved to where the user asked. The SVG
output references the icons by absolute path on this machine; they are inlined as data
URIs so the file can be committed, mailed or opened anywhere.

Every text that comes from a template (ids, CIDRs, names) goes to `dot` through `_text`
and `_id`: `dot` reads a backslash as an escape (a trailing one swallows the closing
quote, a syntax error) and refuses very long strings, so backslashes are escaped, labels
shortened and odd or long ids replaced by a stable digest. Should `dot` still fail, that
is an OperationError (exit 1) with what it said, never a traceback.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from diagrams import Cluster, Diagram, Edge, Node
from diagrams.aws.compute import EC2ElasticIpAddress, Fargate
from diagrams.aws.network import (
    ALB,
    NLB,
    Endpoint,
    InternetGateway,
    NATGateway,
    PrivateSubnet,
    PublicSubnet,
)
from diagrams.onprem.network import Internet
from graphviz.backend.execute import CalledProcessError, ExecutableNotFound

from fargate_api.diagram.model import INTERNET, DiagramModel, EdgeKind, Subnet, Tier
from fargate_api.errors import OperationError, UserError, writing

FORMATS = ("png", "svg")
GRAPHVIZ_FIX = (
    "install Graphviz, which provides 'dot': 'apt-get install graphviz' on Debian/Ubuntu "
    "(scripts/install-system-deps.sh does it), 'brew install graphviz' on macOS"
)
INGRESS_COLOR = "#1E8E3E"
ROUTE_COLOR = "#7B8894"
_IMAGE_HREF = re.compile(r'xlink:href="([^"]+\.png)"')
MAX_LABEL_LINE = 80  # characters of one label line drawn; longer ones end in "…"
_PLAIN_ID = re.compile(r"[A-Za-z0-9_.:/-]{1,64}")


def _text(label: str) -> str:
    """A template-derived label as `dot` draws it: each line shortened, backslashes
    escaped (in a DOT string a backslash escapes the next character)."""
    lines = (
        line if len(line) <= MAX_LABEL_LINE else line[: MAX_LABEL_LINE - 1] + "…"
        for line in label.split("\n")
    )
    return "\n".join(lines).replace("\\", "\\\\")


def _id(model_id: str) -> str:
    """A node id `dot` takes: the model's own when short and plain, else a stable digest."""
    if _PLAIN_ID.fullmatch(model_id):
        return model_id
    return "n" + hashlib.sha256(model_id.encode()).hexdigest()[:24]


def require_graphviz() -> None:
    """Fails early, with what to install, instead of deep inside the rendering."""
    if shutil.which("dot") is None:
        raise UserError("Graphviz's 'dot' program was not found on PATH", fix=GRAPHVIZ_FIX)


def render(model: DiagramModel, output: Path, fmt: str) -> Path:
    """Draws `model` into `output` (png or svg) and returns the path written."""
    require_graphviz()
    with tempfile.TemporaryDirectory(prefix="fargate-api-diagram-") as scratch:
        base = Path(scratch) / "diagram"
        try:
            _draw(model, base, fmt)
        except ExecutableNotFound:
            raise UserError("Graphviz's 'dot' program could not be run", fix=GRAPHVIZ_FIX) from None
        except CalledProcessError as exc:
            said = exc.stderr.decode(errors="replace").strip() if exc.stderr else ""
            raise OperationError(
                f"Graphviz's 'dot' failed to draw the diagram: {said or f'exit {exc.returncode}'}",
                fix="check 'dot -V' works; if it does, report the templates that cause this",
            ) from None
        produced = base.with_suffix(f".{fmt}")
        if fmt == "svg":
            produced.write_text(inline_images(produced.read_text(encoding="utf-8")), "utf-8")
        with writing("the diagram", output, fix="choose a writable path with -o"):
            shutil.copyfile(produced, output)
    return output


def inline_images(svg: str) -> str:
    """Replaces the icons' local file paths with base64 data URIs."""

    def inline(match: re.Match[str]) -> str:
        path = Path(match.group(1))
        if not path.is_file():
            return match.group(0)
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f'xlink:href="data:image/png;base64,{data}"'

    return _IMAGE_HREF.sub(inline, svg)


def title(model: DiagramModel) -> str:
    services = ", ".join(f"{s.name}: {s.tasks_label}" for s in model.services) or "no service"
    return _text(f"Public API on ECS Fargate ({services}), drawn from the templates")


@contextmanager
def _maybe_cluster(label: str | None) -> Iterator[None]:
    if label is None:
        yield
    else:
        with Cluster(_text(label)):
            yield


def _subnet_label(model: DiagramModel, subnet: Subnet) -> str:
    cidr = subnet.cidr or subnet.id
    if subnet.tier is Tier.UNKNOWN:
        return f"subnet {cidr} (no route table)"
    routed = any(e.kind is EdgeKind.ROUTE and e.source == subnet.id for e in model.edges)
    if subnet.tier is Tier.PRIVATE and not routed:
        return f"private subnet {cidr} (no internet route)"
    return f"{subnet.tier.value} subnet {cidr}"


def _draw(model: DiagramModel, base: Path, fmt: str) -> None:
    graph = {"fontsize": "20", "pad": "0.4", "nodesep": "0.5", "ranksep": "1.0"}
    with Diagram(
        title(model),
        filename=str(base),
        outformat=fmt,
        show=False,
        direction="LR",
        curvestyle="curved",
        graph_attr=graph,
    ):
        nodes: dict[str, Node] = {INTERNET: Internet("internet", nodeid="internet")}
        task_nodes: dict[str, list[Node]] = {}  # service id -> its task nodes
        subnet_nodes: dict[str, list[Node]] = {}  # subnet id -> nodes drawn in it
        vpc_label = f"VPC {model.vpc_cidr or ''}".strip() if model.vpc_id else None
        with _maybe_cluster(vpc_label):
            if model.internet_gateway:
                nodes[model.internet_gateway] = InternetGateway(
                    "internet gateway", nodeid=_id(model.internet_gateway)
                )
            for lb in model.load_balancers:
                kind = ALB if lb.kind == "application" else NLB
                scheme = "internet-facing" if lb.internet_facing else "internal"
                name = "ALB" if lb.kind == "application" else "NLB"
                ports = ", ".join(lb.listeners) or "no listener"
                nodes[lb.id] = kind(_text(f"{name} ({scheme})\n{ports}"), nodeid=_id(lb.id))
            # dot stacks clusters of a left-to-right graph bottom up: reversed, the first
            # AZ comes out on top.
            for zone in reversed(model.zones):
                with Cluster(_text(f"AZ {zone.name}")):
                    for subnet in zone.subnets:
                        with Cluster(_text(_subnet_label(model, subnet))):
                            subnet_nodes[subnet.id] = _subnet_content(model, subnet, nodes)
                            for service in model.services:
                                for placement in service.placements:
                                    if placement.subnet == subnet.id and placement.tasks:
                                        noun = "task" if placement.tasks == 1 else "tasks"
                                        node = Fargate(
                                            _text(f"{service.name}: {placement.tasks} {noun}"),
                                            nodeid=f"{_id(service.id)}.{_id(subnet.id)}",
                                        )
                                        task_nodes.setdefault(service.id, []).append(node)
                                        subnet_nodes[subnet.id].append(node)
                            if not subnet_nodes[subnet.id]:
                                icon = PublicSubnet if subnet.tier is Tier.PUBLIC else PrivateSubnet
                                subnet_nodes[subnet.id].append(
                                    icon(
                                        _text(subnet.cidr or subnet.id),
                                        nodeid=f"subnet.{_id(subnet.id)}",
                                    )
                                )
            if model.endpoints:
                Endpoint(_text("VPC endpoints\n" + "\n".join(model.endpoints)), nodeid="endpoints")
        _edges(model, nodes, task_nodes, subnet_nodes)


def _subnet_content(model: DiagramModel, subnet: Subnet, nodes: dict[str, Node]) -> list[Node]:
    """The NAT gateways (with their Elastic IPs) that sit in `subnet`."""
    drawn: list[Node] = []
    for nat in model.nat_gateways:
        if nat.subnet != subnet.id:
            continue
        node = NATGateway("NAT gateway", nodeid=_id(nat.id))
        nodes[nat.id] = node
        drawn.append(node)
        if nat.eip:
            eip = EC2ElasticIpAddress("Elastic IP\n(fixed egress)", nodeid=_id(nat.eip))
            eip - Edge(style="dotted", color=ROUTE_COLOR) - node
            drawn.append(eip)
    return drawn


def _edges(
    model: DiagramModel,
    nodes: dict[str, Node],
    task_nodes: dict[str, list[Node]],
    subnet_nodes: dict[str, list[Node]],
) -> None:
    drawn_ids = {_id(model_id) for model_id in nodes}
    for edge in model.edges:
        if edge.kind is EdgeKind.INGRESS:
            sources = [nodes[edge.source]] if edge.source in nodes else []
            targets = task_nodes.get(edge.target) or (
                [nodes[edge.target]] if edge.target in nodes else []
            )
            label = _text(
                "\n".join(
                    (_ingress_label(model, edge.source, edge.target, edge.label), *edge.routes)
                )
            )
            pairs = [(source, target) for source in sources for target in targets]
            if edge.source in task_nodes:
                pairs = _task_pairs(edge.source, edge.target, task_nodes)
            for source, target in pairs:
                source >> Edge(label=label, color=INGRESS_COLOR, penwidth="2") >> target
        else:
            # Routes leave a subnet: draw them from what runs there (tasks, else the
            # subnet's icon); a NAT gateway's route starts at the NAT itself.
            starts = [nodes[edge.source]] if edge.source in nodes else []
            starts = starts or [
                n for n in subnet_nodes.get(edge.source, []) if n.nodeid not in drawn_ids
            ]
            if edge.target in nodes:
                for start in starts:
                    _against_flow(start, nodes[edge.target], edge.label)
    if model.internet_gateway and model.nat_gateways:
        _against_flow(nodes[model.internet_gateway], nodes[INTERNET], "egress from the Elastic IPs")


def _task_pairs(
    source: str, target: str, task_nodes: dict[str, list[Node]]
) -> list[tuple[Node, Node]]:
    """Service -> service: one arrow per subnet that runs both (the security group admits
    any of the source's tasks, but a mesh of arrows across AZs would hide the picture);
    from the source's first tasks when they never share a subnet."""
    sources, targets = task_nodes.get(source, []), task_nodes.get(target, [])
    if not sources:
        return []
    by_subnet = {_subnet_of(node, source): node for node in sources}
    pairs = [
        (by_subnet[_subnet_of(node, target)], node)
        for node in targets
        if _subnet_of(node, target) in by_subnet
    ]
    return pairs or [(sources[0], node) for node in targets]


def _subnet_of(task_node: Node, service_id: str) -> str:
    """Task nodes are drawn with the id "<service id>.<subnet id>"."""
    return str(task_node.nodeid)[len(_id(service_id)) + 1 :]


def _ingress_label(model: DiagramModel, source: str, target: str, traffic: str) -> str:
    """Says whose security group admits the traffic, and from where."""
    balancers = {lb.id: lb for lb in model.load_balancers}
    names = {s.id: s.name for s in model.services}
    if target in balancers:
        name = "ALB" if balancers[target].kind == "application" else "NLB"
        return f"{name} SG: {traffic}"
    group = f"{names[target]} SG" if target in names else "SG"
    if source in balancers:
        return f"{group}: {traffic} from the ALB SG"
    if source in names:
        return f"{group}: {traffic} from the {names[source]} SG"
    return f"{group}: {traffic}"


def _against_flow(source: Node, target: Node, label: str) -> None:
    """An outbound route, drawn so that it does not rank the layout: the page reads left to
    right the way requests come in (internet, load balancer, public, private subnets)."""
    target << Edge(label=_text(label), style="dashed", color=ROUTE_COLOR) << source
