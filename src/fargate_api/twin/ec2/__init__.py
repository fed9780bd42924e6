"""The VPC as the twin builds it: namespaces, bridges, policy routing, NAT, SGs as nftables."""
