"""The VPC as namespaces: router, internet gateway, NAT gateways, internet, ENIs.

How AWS does it, and how the twin mirrors it:

* The VPC router is one namespace with a bridge per subnet, holding the subnet's
  gateway address (network + 1). Each subnet's route table is a kernel routing table,
  selected by policy routing on the bridge a packet arrives from, so that two subnets
  with different tables really route differently.
* The internet gateway is a namespace between the router and the "internet"; it maps
  public IPs 1:1 to private ones with nftables maps (DNAT in, SNAT out) and drops what
  has no mapping, as an IGW does for instances without a public IP.
* A NAT gateway is an ENI in its public subnet that masquerades to its own private IP;
  the internet gateway then maps that to the NAT's EIP. So the egress IP seen outside
  is the EIP, exactly as on AWS.
* Every ENI (task, load balancer node, NAT) is a namespace with one interface, plugged
  into its subnet's bridge by a veth pair created directly inside the namespaces: the
  host's own namespace never gets a link.
* The internet host has a resolver of its own at 203.0.113.53 (the twin's public
  names only), named in ``/etc/netns/<inet>/resolv.conf``.
* The Amazon-provided DNS resolver (VPC base + 2) and the ECS task endpoint
  (169.254.170.2) are addresses on the router's loopback; their servers (ec2/dns.py,
  servers/task_endpoints.py) run in the router namespace. Every ENI namespace gets
  ``/etc/netns/<netns>/resolv.conf`` naming the resolver, which ``ip netns exec`` shows
  its processes as /etc/resolv.conf.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from fargate_api.twin.ec2.addresses import (
    CLIENT_HOST,
    ECHO_HOST,
    IGW_SIDE,
    INTERNET,
    INTERNET_DNS,
    INTERNET_GATEWAY_SIDE,
    INTERNET_ROUTER,
    PUBLIC_POOL,
    ROUTER_IGW_LINK,
    ROUTER_SIDE,
)
from fargate_api.twin.ec2.dns import (
    TASK_ENDPOINT_ADDRESS,
    internal_domain,
    netns_etc_folders,
    region_of_az,
    remove_netns_etc,
    resolver_address,
    write_netns_resolv_conf,
)
from fargate_api.twin.host import kernel as host
from fargate_api.twin.host.processes import kill_all
from fargate_api.twin.naming import TwinNames
from fargate_api.twin.plan.model import Subnet, TwinPlan

ROUTE_TABLE_BASE = 100
RULE_PRIORITY_BASE = 1000
FORWARDING = {
    "net.ipv4.ip_forward": "1",
    "net.ipv4.conf.all.rp_filter": "0",
    "net.ipv4.conf.default.rp_filter": "0",
    "net.ipv4.conf.all.send_redirects": "0",
    "net.ipv4.conf.default.send_redirects": "0",
}
# An ENI announces itself when its interface comes up (a gratuitous ARP): a task that
# gets the address of a task stopped a moment ago must not wait for its neighbours'
# caches to forget the old interface (seconds, enough to fail health checks).
ARP_NOTIFY = {"net.ipv4.conf.all.arp_notify": "1"}
ENI_SYSCTL = {"net.ipv4.conf.all.rp_filter": "0", "net.ipv4.conf.default.rp_filter": "0"}


class Network:
    """Builds and changes one twin's network; every kernel change goes through host."""

    def __init__(self, names: TwinNames, plan: TwinPlan) -> None:
        self.names = names
        self.plan = plan
        self._eni_counter = 0
        # Public IP -> private IP, as mapped at the internet gateway now: a rebuilt
        # internet gateway gets every one of them back.
        self.public_mappings: dict[IPv4Address, IPv4Address] = {}

    @property
    def resolver(self) -> IPv4Address:
        """The Amazon-provided DNS resolver: the VPC's base address + 2."""
        return resolver_address(self.plan.vpc_cidr)

    # ---------------------------------------------------------------- build
    def build(self) -> None:
        """Router, internet gateway and internet; then NAT gateways, which need them."""
        self._router()
        self._internet_gateway()
        self._internet()
        for i in range(len(self.plan.nat_gateways)):
            self.build_nat(i)

    def build_nat(self, i: int) -> None:
        """NAT gateway ``i``: its ENI, its masquerading ruleset, its EIP at the internet
        gateway. Whatever is left of an earlier one is removed first, so the daemon's
        supervisor rebuilds a lost NAT gateway with the same call (same addresses, so
        the same egress IP)."""
        nat = self.plan.nat_gateways[i]
        netns = self.names.nat_gateway(i)
        if netns in host.netns_list():
            self.detach_eni(netns)
        self.attach_eni(netns, self.plan.subnet(nat.subnet), nat.private_ip, forwarding=True)
        host.nft(netns, self._nat_ruleset(nat.private_ip))
        self.map_public_ip(nat.public_ip, nat.private_ip)

    def nat_problem(self, i: int) -> str | None:
        """Why NAT gateway ``i`` does not work, None when it looks whole: its namespace,
        its nftables table, its interface (kernel state, read by `ip` and `nft`)."""
        netns = self.names.nat_gateway(i)
        if netns not in host.netns_list():
            return f"lost its namespace {netns}"
        tables = host.nft_list(netns, "list", "tables")
        if f"table ip {self.names.table('nat')}" not in tables:
            return f"lost its nftables table {self.names.table('nat')}"
        link = host.ip(netns, "-br", "link", "show", "dev", self.names.eni, check=False)
        if " UP " not in f" {link} ":
            return f"its interface is down ({link.strip() or 'missing'})"
        return None

    def igw_problem(self) -> str | None:
        """Why the internet gateway does not work, None when it looks whole."""
        if not self.plan.internet_gateway:
            return None
        netns = self.names.internet_gateway
        if netns not in host.netns_list():
            return f"lost its namespace {netns}"
        tables = host.nft_list(netns, "list", "tables")
        if f"table ip {self.names.table('igw')}" not in tables:
            return f"lost its nftables table {self.names.table('igw')}"
        return None

    def rebuild_internet_gateway(self) -> int:
        """The internet gateway again: its namespace, its veths to the router and to the
        internet (with the internet host's addresses, which go with its veth), the
        routes through it, its ruleset and every public IP mapped now. The internet
        namespace and its processes survive; their sockets work again once the
        addresses are back. Returns how many public IPs were mapped again."""
        netns = self.names.internet_gateway
        if netns in host.netns_list():
            host.netns_delete(netns)  # its two veth ends go with it, and their peers
        for side in (self.names.router, self.names.internet):
            host.ip(side, "link", "del", self.names.link("igw"), check=False)
        host.netns_add(netns)
        self._router_igw_link()
        host.ip_batch(
            self.names.router,
            [c for c in self._route_table_commands() if f"dev {self.names.link('igw')} " in c],
        )
        self._internet_gateway()
        self._internet(loopback=False)
        mappings = dict(self.public_mappings)
        self.public_mappings = {}
        for public, private in mappings.items():
            self.map_public_ip(public, private)
        return len(mappings)

    def _router(self) -> None:
        ns = self.names.router
        host.netns_add(ns)
        host.sysctl(ns, FORWARDING)
        commands = ["link set lo up"]
        for subnet in self.plan.subnets:
            bridge = self.names.bridge(subnet.index)
            commands += [
                f"link add {bridge} type bridge",
                f"addr add {subnet.gateway}/{subnet.cidr.prefixlen} dev {bridge}",
                f"link set {bridge} up",
            ]
        host.ip_batch(ns, commands)
        host.loopback_address_add(ns, [str(self.resolver), str(TASK_ENDPOINT_ADDRESS)])
        if self.plan.internet_gateway:
            host.netns_add(self.names.internet_gateway)
            self._router_igw_link()
        host.ip_batch(ns, self._route_table_commands())

    def _router_igw_link(self) -> None:
        """The veth between the router and the internet gateway (both namespaces exist)."""
        ns = self.names.router
        host.ip(
            ns,
            "link",
            "add",
            self.names.link("igw"),
            "type",
            "veth",
            "peer",
            "name",
            self.names.link("vpc"),
            "netns",
            self.names.internet_gateway,
        )
        host.ip_batch(
            ns,
            [
                f"addr add {ROUTER_SIDE}/{ROUTER_IGW_LINK.prefixlen} dev {self.names.link('igw')}",
                f"link set {self.names.link('igw')} up",
            ],
        )

    def _route_table_commands(self) -> list[str]:
        commands: list[str] = []
        table_ids = {t.key: ROUTE_TABLE_BASE + i for i, t in enumerate(self.plan.route_tables)}
        for table in self.plan.route_tables:
            table_id = table_ids[table.key]
            for subnet in self.plan.subnets:  # the implicit "local" route of every table
                commands.append(
                    f"route add {subnet.cidr} dev {self.names.bridge(subnet.index)} "
                    f"table {table_id}"
                )
            for route in table.routes:
                if route.target == "internet-gateway" and self.plan.internet_gateway:
                    commands.append(
                        f"route add {route.destination} via {IGW_SIDE} "
                        f"dev {self.names.link('igw')} table {table_id}"
                    )
                elif route.target == "nat-gateway" and route.nat_gateway:
                    nat = next(n for n in self.plan.nat_gateways if n.key == route.nat_gateway)
                    bridge = self.names.bridge(self.plan.subnet(nat.subnet).index)
                    commands.append(
                        f"route add {route.destination} via {nat.private_ip} dev {bridge} "
                        f"table {table_id}"
                    )
                else:
                    commands.append(f"route add blackhole {route.destination} table {table_id}")
        for subnet in self.plan.subnets:
            if subnet.route_table is not None:
                commands.append(
                    f"rule add iif {self.names.bridge(subnet.index)} "
                    f"lookup {table_ids[subnet.route_table]} "
                    f"pref {RULE_PRIORITY_BASE + subnet.index}"
                )
        return commands

    def _internet_gateway(self) -> None:
        if not self.plan.internet_gateway:
            return
        ns = self.names.internet_gateway
        host.sysctl(ns, FORWARDING)
        if self.names.internet not in host.netns_list():  # a rebuilt IGW finds it there
            host.netns_add(self.names.internet)
        host.ip(
            ns,
            "link",
            "add",
            self.names.link("inet"),
            "type",
            "veth",
            "peer",
            "name",
            self.names.link("igw"),
            "netns",
            self.names.internet,
        )
        host.ip_batch(
            ns,
            [
                "link set lo up",
                f"addr add {IGW_SIDE}/{ROUTER_IGW_LINK.prefixlen} dev {self.names.link('vpc')}",
                f"link set {self.names.link('vpc')} up",
                f"addr add {INTERNET_GATEWAY_SIDE}/{INTERNET.prefixlen} "
                f"dev {self.names.link('inet')}",
                f"link set {self.names.link('inet')} up",
                f"route add {self.plan.vpc_cidr} via {ROUTER_SIDE}",
                f"route add default via {INTERNET_ROUTER}",
            ],
        )
        host.nft(ns, self._igw_ruleset())

    def _igw_ruleset(self) -> str:
        table = self.names.table("igw")
        inet = self.names.link("inet")
        return f"""
table ip {table} {{}}
delete table ip {table}
table ip {table} {{
    map public_to_private {{ type ipv4_addr : ipv4_addr; }}
    map private_to_public {{ type ipv4_addr : ipv4_addr; }}
    set mapped_private {{ type ipv4_addr; }}
    chain prerouting {{
        type nat hook prerouting priority dstnat; policy accept;
        iifname "{inet}" dnat to ip daddr map @public_to_private
    }}
    chain postrouting {{
        type nat hook postrouting priority srcnat; policy accept;
        oifname "{inet}" snat to ip saddr map @private_to_public
    }}
    chain forward {{
        type filter hook forward priority filter; policy drop;
        ct state established,related accept
        iifname "{inet}" ct status dnat accept
        oifname "{inet}" ip saddr @mapped_private accept
    }}
}}
"""

    def _internet(self, *, loopback: bool = True) -> None:
        if not self.plan.internet_gateway:
            return
        ns = self.names.internet
        link = self.names.link("igw")
        host.ip_batch(
            ns,
            [
                *(["link set lo up"] if loopback else []),
                f"addr add {INTERNET_ROUTER}/{INTERNET.prefixlen} dev {link}",
                f"addr add {CLIENT_HOST}/{INTERNET.prefixlen} dev {link}",
                f"addr add {ECHO_HOST}/{INTERNET.prefixlen} dev {link}",
                f"addr add {INTERNET_DNS}/{INTERNET.prefixlen} dev {link}",
                f"link set {link} up",
                f"route add {PUBLIC_POOL} via {INTERNET_GATEWAY_SIDE}",
            ],
        )
        # The internet's resolver (ec2/dns.py InternetResolver) for `local exec --internet`.
        write_netns_resolv_conf(ns, INTERNET_DNS)

    def _nat_ruleset(self, own: IPv4Address) -> str:
        table = self.names.table("nat")
        eni = self.names.eni
        return f"""
table ip {table} {{}}
delete table ip {table}
table ip {table} {{
    chain postrouting {{
        type nat hook postrouting priority srcnat; policy accept;
        oifname "{eni}" ip saddr {self.plan.vpc_cidr} ip saddr != {own} snat to {own}
    }}
    chain forward {{
        type filter hook forward priority filter; policy drop;
        ct state established,related accept
        ip saddr {self.plan.vpc_cidr} ct state new accept
    }}
}}
"""

    # ---------------------------------------------------------------- ENIs
    def attach_eni(
        self, netns: str, subnet: Subnet, ip: IPv4Address, *, forwarding: bool = False
    ) -> None:
        """A namespace with one interface in `subnet`, default route via the VPC router."""
        host.netns_add(netns)
        self._eni_counter += 1
        router_side = self.names.link(f"e{self._eni_counter}")
        host.ip(
            self.names.router,
            "link",
            "add",
            router_side,
            "type",
            "veth",
            "peer",
            "name",
            self.names.eni,
            "netns",
            netns,
        )
        host.ip_batch(
            self.names.router,
            [
                f"link set {router_side} master {self.names.bridge(subnet.index)}",
                f"link set {router_side} up",
            ],
        )
        host.sysctl(netns, {**(FORWARDING if forwarding else ENI_SYSCTL), **ARP_NOTIFY})
        # The router forgets the address's previous owner before the new one comes up.
        host.ip(self.names.router, "neigh", "flush", "to", str(ip), check=False)
        host.ip_batch(
            netns,
            [
                "link set lo up",
                f"addr add {ip}/{subnet.cidr.prefixlen} dev {self.names.eni}",
                f"link set {self.names.eni} up",
                f"route add default via {subnet.gateway}",
            ],
        )
        search = [internal_domain(region_of_az(subnet.az))]
        write_netns_resolv_conf(netns, self.resolver, search)

    def detach_eni(self, netns: str) -> None:
        """Deleting the namespace deletes its veth end, and with it the router's end."""
        kill_all(host.netns_pids(netns))
        host.netns_delete(netns)
        remove_netns_etc(netns)

    def map_public_ip(self, public: IPv4Address, private: IPv4Address) -> None:
        if not self.plan.internet_gateway:
            return
        table = self.names.table("igw")
        host.nft(
            self.names.internet_gateway,
            f"add element ip {table} public_to_private {{ {public} : {private} }}\n"
            f"add element ip {table} private_to_public {{ {private} : {public} }}\n"
            f"add element ip {table} mapped_private {{ {private} }}\n",
        )
        self.public_mappings[public] = private

    def unmap_public_ip(self, public: IPv4Address, private: IPv4Address) -> None:
        if not self.plan.internet_gateway:
            return
        table = self.names.table("igw")
        host.nft(
            self.names.internet_gateway,
            f"delete element ip {table} public_to_private {{ {public} }}\n"
            f"delete element ip {table} private_to_public {{ {private} }}\n"
            f"delete element ip {table} mapped_private {{ {private} }}\n",
        )
        self.public_mappings.pop(public, None)


def teardown(names: TwinNames) -> list[str]:
    """Kills every process in the twin's namespaces, then deletes them; returns them."""
    removed = [ns for ns in host.netns_list() if names.owns_netns(ns)]
    pids = [pid for ns in removed for pid in host.netns_pids(ns)]
    kill_all(pids)
    for ns in removed:
        host.netns_delete(ns)
    for ns in netns_etc_folders(names.prefix):  # /etc/netns/<netns>: resolv.conf
        if names.owns_netns(ns):
            remove_netns_etc(ns)
    return removed
