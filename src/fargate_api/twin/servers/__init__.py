"""Small servers inside the twin's namespaces: the internet's echo, forwarders, the stand-in."""
