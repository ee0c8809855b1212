"""The network: a hub namespace with a bridge (the control node, 10.77.0.100, where the
clients run) and one namespace per node (n1..n5 = 10.77.0.1..5) on a veth into the hub.
Everything is made inside the run's sandbox (sandbox.py); nothing in the root namespace.

Faults are Jepsen's: a node drops INPUT from the nodes it has a grudge against (nftables
table `inet jepsen`); loss is nft `numgen` on node-to-node input (table `inet jepsen_loss`);
delay is an iptables NFQUEUE rule plus nfq_delay in the node's namespace. Rules match node
addresses only, so the clients in the hub always reach every node (as Jepsen's control node
does), and every table is replaced atomically, never appended to (jepsen-notes section 4).
"""
from .sandbox import sh, log

HUB = "jphub"
HUB_IP = "10.77.0.100"
SUBNET = "10.77.0.0/24"


def node_ip(name):
    return "10.77.0." + name[1:]


def netns_exec(ns, args):
    return ["ip", "netns", "exec", ns] + list(args)


class Topology:
    def __init__(self, nodes):
        self.nodes = list(nodes)      # ["n1", ..., "n5"]
        self.made = []                # namespaces created, for teardown

    def create(self):
        sh(["ip", "netns", "add", HUB]); self.made.append(HUB)
        sh(["ip", "-n", HUB, "link", "set", "lo", "up"])
        sh(["ip", "-n", HUB, "link", "add", "br0", "type", "bridge"])
        sh(["ip", "-n", HUB, "link", "set", "br0", "up"])
        sh(["ip", "-n", HUB, "addr", "add", HUB_IP + "/24", "dev", "br0"])
        for n in self.nodes:
            i = n[1:]
            sh(["ip", "netns", "add", n]); self.made.append(n)
            sh(["ip", "-n", n, "link", "set", "lo", "up"])   # lo starts down in a new netns
            # Created inside the hub, its peer moved straight into the node: never in the root ns.
            sh(["ip", "-n", HUB, "link", "add", "h" + i, "type", "veth", "peer", "name", "eth0", "netns", n])
            sh(["ip", "-n", HUB, "link", "set", "h" + i, "master", "br0", "up"])
            sh(["ip", "-n", n, "addr", "add", node_ip(n) + "/24", "dev", "eth0"])
            sh(["ip", "-n", n, "link", "set", "eth0", "up"])
        log(f"topology: {HUB} ({HUB_IP}) + {', '.join(f'{n}={node_ip(n)}' for n in self.nodes)}")

    def destroy(self):
        for ns in reversed(self.made):
            sh(["ip", "netns", "del", ns], check=False)
        self.made = []

    # ---- partitions: grudge = {node: set of nodes whose packets it drops}

    def apply_grudge(self, grudge):
        for n in self.nodes:
            drop = sorted(grudge.get(n, ()))
            if not drop:
                self._replace_table(n, "jepsen", None)
                continue
            addrs = ", ".join(node_ip(d) for d in drop)
            self._replace_table(n, "jepsen",
                                f"  chain input {{\n    type filter hook input priority 0; policy accept;\n"
                                f"    ip saddr {{ {addrs} }} drop\n  }}\n")

    def heal_partition(self):
        for n in self.nodes:
            self._replace_table(n, "jepsen", None)

    # ---- loss: a fraction of node-to-node packets dropped at each node's input

    def apply_loss(self, targets, percent):
        for n in targets:
            self._replace_table(n, "jepsen_loss",
                                f"  chain input {{\n    type filter hook input priority 0; policy accept;\n"
                                f"    ip saddr {SUBNET} ip saddr != {HUB_IP} numgen random mod 100 < {int(percent)} drop\n"
                                f"  }}\n")

    def heal_loss(self):
        for n in self.nodes:
            self._replace_table(n, "jepsen_loss", None)

    # ---- delay: node-to-node output through NFQUEUE (nfq_delay runs in the node's netns)

    def queue_output(self, node, qnum):
        ipt = netns_exec(node, ["iptables", "-w"])
        sh(ipt + ["-F", "OUTPUT"])
        sh(ipt + ["-A", "OUTPUT", "-d", HUB_IP, "-j", "ACCEPT"])
        # --queue-bypass: with no delayer listening, packets pass instead of vanishing.
        sh(ipt + ["-A", "OUTPUT", "-d", SUBNET, "-j", "NFQUEUE", "--queue-num", str(qnum), "--queue-bypass"])

    def unqueue_output(self, node):
        sh(netns_exec(node, ["iptables", "-w", "-F", "OUTPUT"]), check=False)

    def heal_all(self):
        self.heal_partition()
        self.heal_loss()
        for n in self.nodes:
            self.unqueue_output(n)

    def _replace_table(self, node, table, body):
        # "add; delete; define" in one transaction: atomic, and never appends to old rules.
        script = f"add table inet {table}\ndelete table inet {table}\n"
        if body is not None:
            script += f"table inet {table} {{\n{body}}}\n"
        sh(netns_exec(node, ["nft", "-f", "-"]), input=script)
