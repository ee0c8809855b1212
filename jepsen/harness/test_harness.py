"""Unit tests of the harness's pure parts (no root, no cluster): partition shapes, history
pairing and counts, the serializable-read check, and fault windows for the plot.

  /usr/bin/python3 -m unittest discover -s jepsen/harness -p 'test_*.py'   (CTest: jepsen:harness)
"""
import os
import random
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from harness import analysis, nemesis, plot  # noqa: E402

NODES = ["n1", "n2", "n3", "n4", "n5"]


class FakeCluster:
    nodes = NODES

    def __init__(self, leader="n3"):
        self._leader = leader

    def leader(self):
        return self._leader


def hears(grudge, a, b):
    """Does node a receive packets from node b?"""
    return b not in grudge.get(a, set())


class GrudgeShapes(unittest.TestCase):
    def grudge(self, kind, seed=1, leader="n3"):
        n = nemesis.Nemesis(FakeCluster(leader), None, "/tmp", "/tmp", random.Random(seed), None)
        return n._grudge(kind)[0]

    def test_ring_gives_every_node_a_distinct_majority(self):
        for seed in range(20):
            g = self.grudge("ring", seed)
            views = []
            for a in NODES:
                sees = {b for b in NODES if hears(g, a, b)}
                self.assertEqual(len(sees), 3, (seed, a, sees))
                views.append(frozenset(sees))
                for b in sees:
                    self.assertTrue(hears(g, b, a), "the ring is symmetric")
            self.assertEqual(len(set(views)), 5)

    def test_isolate_leader_cuts_exactly_the_leader(self):
        g = self.grudge("isolate-leader", leader="n4")
        for a in NODES:
            for b in NODES:
                if a != b:
                    self.assertEqual(hears(g, a, b), "n4" not in (a, b), (a, b))

    def test_halves_is_minority_and_majority(self):
        for seed in range(10):
            g = self.grudge("halves", seed)
            cut = [a for a in NODES if g.get(a)]
            self.assertEqual(len(cut), 5)
            sizes = sorted({len(g[a]) for a in NODES})
            self.assertEqual(sizes, [2, 3])

    def test_bridge_node_hears_everyone_and_sides_do_not_meet(self):
        for seed in range(10):
            g = self.grudge("bridge", seed)
            bridge = [a for a in NODES if not g.get(a)]
            self.assertEqual(len(bridge), 1)
            for a in NODES:
                self.assertTrue(hears(g, a, bridge[0]))
                self.assertTrue(hears(g, bridge[0], a))
            self.assertEqual(sum(1 for a in NODES for b in NODES if a != b and not hears(g, a, b)), 8)

    def test_one_way_is_one_way(self):
        g = self.grudge("one-way", 3)
        deaf = [a for a in NODES if g.get(a)]
        self.assertEqual(len(deaf), 2)
        for d in deaf:
            for other in set(NODES) - set(deaf):
                self.assertFalse(hears(g, d, other))
                self.assertTrue(hears(g, other, d))

    def test_every_package_has_kinds_and_specs_parse(self):
        self.assertEqual(nemesis.parse_packages("combined"), list(nemesis.PACKAGES))
        self.assertEqual(nemesis.parse_packages("partition+kill"), ["partition", "kill"])
        self.assertEqual(nemesis.parse_packages("none"), [])
        with self.assertRaises(ValueError):
            nemesis.parse_packages("partition+flood")


def ev(t, p, typ, f, key=None, value=None, **extra):
    e = {"t_ns": t, "process": p, "type": typ, "f": f, "value": value}
    if key is not None:
        e["key"] = key
    e.update(extra)
    return e


class Analysis(unittest.TestCase):
    def test_pairing_counts_and_open_ops_are_info(self):
        events = [ev(1, 0, "invoke", "write", 1, 5), ev(2, 1, "invoke", "read", 1),
                  {"t_ns": 3, "process": "nemesis", "type": "info", "f": "start", "value": {}},
                  ev(4, 0, "ok", "write", 1, 5), ev(5, 1, "fail", "read", 1), ev(6, 2, "invoke", "write", 1, 6)]
        ops = analysis.pair_ops(events)
        self.assertEqual(analysis.counts(ops), {"ops": 3, "ok": 1, "fail": 1, "info": 1})

    def test_serializable_read_of_a_failed_write_is_caught(self):
        events = [ev(1, 0, "invoke", "write", 1, 7), ev(2, 0, "fail", "write", 1, 7),
                  ev(3, 1, "invoke", "read", 1, consistency="serializable"),
                  ev(4, 1, "ok", "read", 1, 7, consistency="serializable")]
        r = analysis.check_serializable_reads(analysis.pair_ops(events))
        self.assertFalse(r["valid"])
        self.assertEqual(r["anomaly_types"], ["read-of-failed-write"])

    def test_serializable_stale_reads_are_allowed_but_garbage_and_future_are_not(self):
        base = [ev(1, 0, "invoke", "write", 1, 1), ev(2, 0, "ok", "write", 1, 1),
                ev(3, 0, "invoke", "cas", 1, [1, 2]), ev(4, 0, "ok", "cas", 1, [1, 2])]
        stale = base + [ev(5, 1, "invoke", "read", 1, consistency="serializable"),
                        ev(6, 1, "ok", "read", 1, 1, consistency="serializable")]
        self.assertTrue(analysis.check_serializable_reads(analysis.pair_ops(stale))["valid"])
        garbage = base + [ev(5, 1, "invoke", "read", 1, consistency="serializable"),
                          ev(6, 1, "ok", "read", 1, 99, consistency="serializable")]
        self.assertEqual(analysis.check_serializable_reads(analysis.pair_ops(garbage))["anomaly_types"],
                         ["garbage-read"])
        future = [ev(1, 1, "invoke", "read", 1, consistency="serializable"),
                  ev(2, 1, "ok", "read", 1, 3, consistency="serializable"),
                  ev(3, 0, "invoke", "write", 1, 3), ev(4, 0, "ok", "write", 1, 3)]
        self.assertEqual(analysis.check_serializable_reads(analysis.pair_ops(future))["anomaly_types"],
                         ["future-read"])

    def test_combine(self):
        self.assertIs(analysis.combine([{"valid": True}, {"valid": True}]), True)
        self.assertIs(analysis.combine([{"valid": True}, {"valid": False}, {"valid": "unknown"}]), False)
        self.assertEqual(analysis.combine([{"valid": True}, {"valid": "unknown"}]), "unknown")

    def test_recovery_needs_every_node(self):
        ok = analysis.check_recovery({"recovered": True}, {"n1": {"ok": True}, "n2": {"ok": True}}, 0)
        self.assertTrue(ok["valid"])
        bad = analysis.check_recovery({"recovered": True}, {"n1": {"ok": True}, "n2": {"ok": False}}, 0)
        self.assertFalse(bad["valid"])

    def test_fault_windows(self):
        events = [{"t_ns": 2_000_000_000, "process": "nemesis", "f": "start", "value": {"fault": "kill", "kind": "one"}},
                  {"t_ns": 5_000_000_000, "process": "nemesis", "f": "stop", "value": {"fault": "kill"}},
                  {"t_ns": 7_000_000_000, "process": "nemesis", "f": "start", "value": {"fault": "pause", "kind": "one"}}]
        w = plot.fault_windows(events, 1_000_000_000, 9_000_000_000)
        self.assertEqual([(a, b, p) for a, b, p, _ in w], [(1.0, 4.0, "kill"), (6.0, 8.0, "pause")])


if __name__ == "__main__":
    unittest.main()
