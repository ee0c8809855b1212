// etcdload: a small closed-loop load generator for etcd v3 (gRPC API).
//
// PROJECT COPY of ../shared/etcd-bench/etcdload/main.go (the shared kit is read-only).
// The only change: `-op load` (with `-batch`), which writes every key of -key-space once,
// -batch puts per txn, so that compare-etcd can fill etcd with 1,000,000 keys in seconds
// for its memory measurement, the same way kvbench's `load` fills our store. Everything
// else is byte-for-byte the kit's, so its measurements stay comparable to baseline.md.
//
// Written for this project (not upstream code). It imports only the Go
// standard library, go.etcd.io/etcd/clientv3 (Debian's golang-etcd-server-dev)
// and go.uber.org/zap (golang-go.uber-zap-dev, pulled in by the former), and
// is built in GOPATH mode against /usr/share/gocode, with nothing downloaded:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o etcdload ./etcdload
//
// Model: --conns gRPC connections (one clientv3.Client each, spread over the
// endpoints), --clients goroutines spread round-robin over those connections;
// each goroutine issues one request, waits for the reply, issues the next.
// Only requests that start after --warmup and finish inside the following
// --duration window are counted. Prints one JSON line on stdout.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"bufio"
	"io/ioutil"
	"net/http"
	"strconv"

	"go.etcd.io/etcd/clientv3"
	"go.uber.org/zap"
)

type result struct {
	Op          string  `json:"op"`
	Consistency string  `json:"consistency,omitempty"`
	Clients     int     `json:"clients"`
	Conns       int     `json:"conns"`
	Target      string  `json:"target"`
	Ops         int     `json:"ops"`
	Secs        float64 `json:"secs"`
	OpsPerSec   float64 `json:"ops_per_s"`
	MeanMs      float64 `json:"mean_ms"`
	P50Ms       float64 `json:"p50_ms"`
	P90Ms       float64 `json:"p90_ms"`
	P99Ms       float64 `json:"p99_ms"`
	P999Ms      float64 `json:"p999_ms"`
	MaxMs       float64 `json:"max_ms"`
	Errors      int64   `json:"errors"`
	CasFailed   int64   `json:"cas_failed,omitempty"`
	KeySize     int     `json:"key_size"`
	ValSize     int     `json:"val_size"`
	KeySpace    int     `json:"key_space"`
	FirstError  string  `json:"first_error,omitempty"`
	// Leader WAL fsyncs during the window: count, mean latency, ops per fsync.
	WalFsyncs   float64 `json:"wal_fsyncs"`
	WalFsyncMs  float64 `json:"wal_fsync_mean_ms"`
	OpsPerFsync float64 `json:"ops_per_fsync"`
	ServerCPU   float64 `json:"server_cpu_cores"` // all --cpu-pids together
	LoadgenCPU  float64 `json:"loadgen_cpu_cores"`
	HostBusy    float64 `json:"host_busy_cores"` // whole machine, /proc/stat
	// Machine's busy cores in the 1 s before the run (other tenants' load).
	BusyBefore float64 `json:"host_busy_before"`
	Label      string  `json:"label,omitempty"`
	Round      int     `json:"round,omitempty"`
}

var (
	endpointsF  = flag.String("endpoints", "127.0.0.1:2379", "comma-separated client endpoints (loopback only)")
	targetLdr   = flag.Bool("target-leader", false, "send all traffic to the current leader")
	conns       = flag.Int("conns", 1, "number of gRPC connections")
	clients     = flag.Int("clients", 1, "number of concurrent closed-loop clients")
	op          = flag.String("op", "put", "put | range | txn (compare-and-swap) | load (fill the key space)")
	batch       = flag.Int("batch", 128, "load: puts per txn (etcd's default --max-txn-ops is 128)")
	consistency = flag.String("consistency", "l", "range consistency: l (linearizable) or s (serializable)")
	duration    = flag.Duration("duration", 15*time.Second, "measured window")
	warmup      = flag.Duration("warmup", 2*time.Second, "unmeasured warm-up before the window")
	keySize     = flag.Int("key-size", 16, "key size in bytes (>= 8)")
	valSize     = flag.Int("val-size", 256, "value size in bytes")
	keySpace    = flag.Int("key-space", 100000, "number of distinct keys")
	populate    = flag.Bool("populate", true, "range: write every key of the key space before measuring")
	reqTimeout  = flag.Duration("timeout", 10*time.Second, "requests still pending this long after the window are abandoned")
	seed        = flag.Int64("seed", 0, "random seed (0: time based)")
	cpuPids     = flag.String("cpu-pids", "", "comma-separated server PIDs whose CPU use is reported")
	label       = flag.String("label", "", "free-form label copied into the JSON line")
	round       = flag.Int("round", 0, "repeat number copied into the JSON line")
	summarize   = flag.String("summarize", "", "print a table from a JSONL file of earlier results and exit")
	maintain    = flag.Bool("maintain", false, "compact to the current revision, defragment every endpoint, and exit")
	quiet       = flag.Float64("wait-quiet", 0.3, "before measuring, wait (up to --quiet-max) until the machine uses fewer than this many cores")
	quietMax    = flag.Duration("quiet-max", 60*time.Second, "longest wait for a quiet machine")
)

func die(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "etcdload: "+format+"\n", a...)
	os.Exit(2)
}

// keyName makes a fixed-size key: prefix byte, optional salt, zero-padded index.
func keyName(prefix string, i int) string {
	digits := *keySize - len(prefix)
	return fmt.Sprintf("%s%0*d", prefix, digits, i)
}

func checkLoopback(eps []string) {
	for _, e := range eps {
		h := strings.TrimPrefix(strings.TrimPrefix(e, "http://"), "https://")
		if !(strings.HasPrefix(h, "127.") || strings.HasPrefix(h, "localhost:") || strings.HasPrefix(h, "[::1]:")) {
			die("endpoint %q is not a loopback address; refusing", e)
		}
	}
}

func zapQuiet() *zap.Config {
	c := zap.NewProductionConfig()
	c.Level = zap.NewAtomicLevelAt(zap.ErrorLevel)
	c.OutputPaths = []string{"stderr"}
	c.ErrorOutputPaths = []string{"stderr"}
	return &c
}

func newClient(ep string) *clientv3.Client {
	lc := zapQuiet()
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{ep},
		DialTimeout: 5 * time.Second,
		LogConfig:   lc,
	})
	if err != nil {
		die("connect %s: %v", ep, err)
	}
	return c
}

func findLeader(eps []string) string {
	for _, ep := range eps {
		c := newClient(ep)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		st, err := c.Status(ctx, ep)
		cancel()
		c.Close()
		if err == nil && st.Header.MemberId == st.Leader {
			return ep
		}
	}
	die("no leader found among %v", eps)
	return ""
}

func pct(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return float64(sorted[i]) / 1e6
}

func main() {
	flag.Parse()
	if *summarize != "" {
		printSummary(*summarize)
		return
	}
	eps := strings.Split(*endpointsF, ",")
	checkLoopback(eps)
	if *keySize < 8 || *valSize < 0 || *clients < 1 || *conns < 1 || *keySpace < 1 {
		die("bad sizes")
	}
	if *conns > *clients {
		*conns = *clients
	}
	if *seed == 0 {
		*seed = time.Now().UnixNano()
	}
	rand.Seed(*seed)
	if *maintain {
		doMaintain(eps)
		return
	}
	busyBefore := waitQuiet()
	target := "all"
	leader := findLeader(eps)
	if *targetLdr {
		eps = []string{leader}
		target = "leader"
	}

	cs := make([]*clientv3.Client, *conns)
	for i := range cs {
		cs[i] = newClient(eps[i%len(eps)])
	}
	defer func() {
		for _, c := range cs {
			c.Close()
		}
	}()

	val := make([]byte, *valSize)
	for i := range val {
		val[i] = byte('a' + rand.Intn(26))
	}
	value := string(val)

	prefix := "p"
	switch *op {
	case "put":
	case "range":
		prefix = "r"
		if *consistency != "l" && *consistency != "s" {
			die("consistency must be l or s")
		}
	case "txn":
		// Fresh keys per run, so every client knows each key's revision
		// exactly (0 = absent) and a CAS fails only if the key moved.
		prefix = fmt.Sprintf("c%04x", rand.Intn(1<<16))
		if *keySize < len(prefix)+4 {
			die("txn needs key-size >= %d", len(prefix)+4)
		}
	case "load":
		prefix = "l"
	default:
		die("unknown op %q", *op)
	}

	keys := make([]string, *keySpace)
	for i := range keys {
		keys[i] = keyName(prefix, i)
	}
	if *op == "range" && *populate {
		doPopulate(cs, keys, value)
	}
	if *op == "load" {
		doLoad(cs, keys, value, target, busyBefore)
		return
	}

	var errCount, casFailed int64
	var firstErr atomic.Value
	lat := make([][]time.Duration, *clients)
	start := time.Now()
	t0 := start.Add(*warmup)
	t1 := t0.Add(*duration)
	// Sample the leader's WAL fsync histogram and CPU times at t0 and t1.
	var s0, s1 sample
	sampled := make(chan struct{})
	go func() {
		time.Sleep(time.Until(t0))
		s0 = takeSample(leader)
		time.Sleep(time.Until(t1))
		s1 = takeSample(leader)
		close(sampled)
	}()
	var wg sync.WaitGroup
	for ci := 0; ci < *clients; ci++ {
		wg.Add(1)
		go func(ci int) {
			defer wg.Done()
			c := cs[ci%len(cs)]
			r := rand.New(rand.NewSource(*seed + int64(ci)*7919))
			mine := make([]time.Duration, 0, 1<<14)
			// txn: client ci owns keys ci, ci+clients, ci+2*clients, ...
			owned := *keySpace / *clients
			if owned < 1 {
				owned = 1
			}
			known := map[int]int64{}
			// One deadline for the whole run (no per-request timer): no
			// request outlives the window by more than --timeout.
			ctx, cancel := context.WithDeadline(context.Background(), t1.Add(*reqTimeout))
			defer cancel()
			for {
				now := time.Now()
				if !now.Before(t1) {
					break
				}
				var err error
				switch *op {
				case "put":
					_, err = c.Put(ctx, keys[r.Intn(*keySpace)], value)
				case "range":
					k := keys[r.Intn(*keySpace)]
					if *consistency == "s" {
						_, err = c.Get(ctx, k, clientv3.WithSerializable())
					} else {
						_, err = c.Get(ctx, k)
					}
				case "txn":
					idx := ci + r.Intn(owned)**clients
					k := keys[idx]
					rev := known[idx]
					var tr *clientv3.TxnResponse
					tr, err = c.Txn(ctx).
						If(clientv3.Compare(clientv3.ModRevision(k), "=", rev)).
						Then(clientv3.OpPut(k, value)).
						Else(clientv3.OpGet(k)).
						Commit()
					if err == nil {
						if tr.Succeeded {
							known[idx] = tr.Header.Revision
						} else {
							atomic.AddInt64(&casFailed, 1)
							if g := tr.Responses[0].GetResponseRange(); g != nil && len(g.Kvs) > 0 {
								known[idx] = g.Kvs[0].ModRevision
							} else {
								known[idx] = 0
							}
						}
					}
				}
				end := time.Now()
				if err != nil {
					if atomic.AddInt64(&errCount, 1) == 1 {
						firstErr.Store(err.Error())
					}
					if errors.Is(err, context.DeadlineExceeded) {
						continue
					}
					time.Sleep(10 * time.Millisecond)
					continue
				}
				if !now.Before(t0) && !end.After(t1) {
					mine = append(mine, end.Sub(now))
				}
			}
			lat[ci] = mine
		}(ci)
	}
	wg.Wait()
	<-sampled

	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	var sum time.Duration
	for _, d := range all {
		sum += d
	}
	res := result{
		Op: *op, Clients: *clients, Conns: *conns, Target: target,
		Ops: len(all), Secs: duration.Seconds(),
		OpsPerSec: float64(len(all)) / duration.Seconds(),
		P50Ms:     pct(all, 0.50), P90Ms: pct(all, 0.90), P99Ms: pct(all, 0.99),
		P999Ms: pct(all, 0.999), MaxMs: pct(all, 1.0),
		Errors: errCount, CasFailed: casFailed,
		KeySize: *keySize, ValSize: *valSize, KeySpace: *keySpace,
	}
	if *op == "range" {
		res.Consistency = *consistency
	}
	res.Label, res.Round = *label, *round
	res.BusyBefore = busyBefore
	if s0.ok && s1.ok {
		res.WalFsyncs = s1.fsyncCount - s0.fsyncCount
		if res.WalFsyncs > 0 {
			res.WalFsyncMs = (s1.fsyncSum - s0.fsyncSum) / res.WalFsyncs * 1e3
			res.OpsPerFsync = float64(len(all)) / res.WalFsyncs
		}
	}
	wall := s1.at.Sub(s0.at).Seconds()
	if wall > 0 {
		res.ServerCPU = (s1.serverCPU - s0.serverCPU) / wall
		res.LoadgenCPU = (s1.selfCPU - s0.selfCPU) / wall
		res.HostBusy = (s1.hostBusy - s0.hostBusy) / wall
	}
	if len(all) > 0 {
		res.MeanMs = float64(sum) / float64(len(all)) / 1e6
	}
	if v := firstErr.Load(); v != nil {
		res.FirstError = v.(string)
	}
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
	if len(all) == 0 {
		os.Exit(1)
	}
}

// doPopulate writes every key of the key space once (range workloads).
func doPopulate(cs []*clientv3.Client, keys []string, value string) {
	var next int64 = -1
	var wg sync.WaitGroup
	workers := 32
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := cs[w%len(cs)]
			for {
				i := atomic.AddInt64(&next, 1)
				if i >= int64(len(keys)) {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), *reqTimeout)
				_, err := c.Put(ctx, keys[i], value)
				cancel()
				if err != nil {
					die("populate: %v", err)
				}
			}
		}(w)
	}
	wg.Wait()
}

type sample struct {
	ok                   bool
	at                   time.Time
	fsyncSum, fsyncCount float64
	serverCPU, selfCPU   float64 // seconds
	hostBusy             float64 // seconds of non-idle CPU, whole machine
}

func takeSample(leader string) sample {
	s := sample{at: time.Now()}
	s.selfCPU = procCPU("self")
	s.hostBusy = hostBusy()
	for _, p := range strings.Split(*cpuPids, ",") {
		if p = strings.TrimSpace(p); p != "" {
			s.serverCPU += procCPU(p)
		}
	}
	hc := http.Client{Timeout: 2 * time.Second}
	resp, err := hc.Get("http://" + leader + "/metrics")
	if err != nil {
		return s
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "etcd_disk_wal_fsync_duration_seconds_sum":
			s.fsyncSum = v
		case "etcd_disk_wal_fsync_duration_seconds_count":
			s.fsyncCount = v
			s.ok = true
		}
	}
	return s
}

// procCPU returns utime+stime of a process in seconds (Linux /proc).
func procCPU(pid string) float64 {
	b, err := ioutil.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	st := string(b)
	i := strings.LastIndexByte(st, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(st[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	stt, _ := strconv.ParseFloat(f[12], 64)
	return (ut + stt) / 100.0 // USER_HZ is 100 on Linux
}

// waitQuiet samples the machine's CPU use over 1 s until it is below
// --wait-quiet cores or --quiet-max has passed; returns the last sample.
func waitQuiet() float64 {
	deadline := time.Now().Add(*quietMax)
	for {
		b0, t0 := hostBusy(), time.Now()
		time.Sleep(time.Second)
		busy := (hostBusy() - b0) / time.Since(t0).Seconds()
		if busy < *quiet || time.Now().After(deadline) {
			if busy >= *quiet {
				fmt.Fprintf(os.Stderr, "etcdload: machine still busy (%.2f cores) after %v; measuring anyway\n", busy, *quietMax)
			}
			return busy
		}
	}
}

// doMaintain compacts away all history and defragments each member, so
// every run starts from a small database.
func doMaintain(eps []string) {
	c := newClient(eps[0])
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	g, err := c.Get(ctx, "compact-probe")
	if err != nil {
		die("maintain: %v", err)
	}
	if _, err := c.Compact(ctx, g.Header.Revision, clientv3.WithCompactPhysical()); err != nil &&
		!strings.Contains(err.Error(), "compacted") {
		die("maintain: compact: %v", err)
	}
	for _, ep := range eps {
		if _, err := c.Defragment(ctx, ep); err != nil {
			die("maintain: defrag %s: %v", ep, err)
		}
	}
	fmt.Fprintf(os.Stderr, "etcdload: compacted at revision %d, defragmented %d members\n", g.Header.Revision, len(eps))
}

// hostBusy returns the machine's non-idle CPU seconds (all cores, /proc/stat).
func hostBusy() float64 {
	b, err := ioutil.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line := strings.SplitN(string(b), "\n", 2)[0]
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	busy := 0.0
	for i, x := range f[1:] {
		if i == 3 || i == 4 || i >= 7 { // idle, iowait; steal/guest excluded
			continue
		}
		v, _ := strconv.ParseFloat(x, 64)
		busy += v
	}
	return busy / 100.0
}

// printSummary groups result lines by label and prints one row per run plus
// the mean and spread of throughput between repeats. "oth" is the machine's
// CPU use not explained by etcd or the load generator (other tenants); runs
// with oth > 0.15 cores are marked '!' and left out of the "clean" mean.
func printSummary(path string) {
	b, err := ioutil.ReadFile(path)
	if err != nil {
		die("%v", err)
	}
	var order []string
	groups := map[string][]result{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var r result
		if json.Unmarshal([]byte(line), &r) != nil {
			continue
		}
		key := r.Label
		if key == "" {
			key = fmt.Sprintf("%s-%dx%d", r.Op, r.Clients, r.Conns)
		}
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], r)
	}
	fmt.Printf("%-13s %4s %4s %-6s %3s %8s %7s %7s %7s %6s %6s %6s %6s %5s %3s\n",
		"workload", "clnt", "conn", "target", "run", "ops/s", "p50ms", "p99ms", "p999ms",
		"ops/fs", "fsync", "srvCPU", "genCPU", "oth", "err")
	for _, k := range order {
		rs := groups[k]
		var all, clean []float64
		for _, r := range rs {
			oth := r.HostBusy - r.ServerCPU - r.LoadgenCPU
			mark := ""
			if oth > 0.15 {
				mark = " !"
			} else {
				clean = append(clean, r.OpsPerSec)
			}
			all = append(all, r.OpsPerSec)
			fmt.Printf("%-13s %4d %4d %-6s %3d %8.0f %7.2f %7.2f %7.2f %6.1f %6.3f %6.2f %6.2f %5.2f %3d%s\n",
				k, r.Clients, r.Conns, r.Target, r.Round, r.OpsPerSec, r.P50Ms, r.P99Ms, r.P999Ms,
				r.OpsPerFsync, r.WalFsyncMs, r.ServerCPU, r.LoadgenCPU, oth, r.Errors, mark)
		}
		if len(all) > 1 {
			m, sp := meanSpread(all)
			line := fmt.Sprintf("%-13s   mean %.0f ops/s, spread (max-min)/mean %.1f%% over %d runs", k, m, sp, len(all))
			if len(clean) != len(all) && len(clean) > 0 {
				cm, csp := meanSpread(clean)
				line += fmt.Sprintf("; clean runs: mean %.0f, spread %.1f%% over %d", cm, csp, len(clean))
			}
			fmt.Println(line)
		}
	}
}

func meanSpread(xs []float64) (mean, spreadPct float64) {
	lo, hi := xs[0], xs[0]
	for _, x := range xs {
		mean += x
		if x < lo {
			lo = x
		}
		if x > hi {
			hi = x
		}
	}
	mean /= float64(len(xs))
	return mean, (hi - lo) / mean * 100
}

// doLoad (project addition) writes every key once, -batch puts per txn, -clients
// goroutines claiming batches in order; prints one JSON line like a measured run, whose
// ops are txns (every one measured, no warm-up) and secs the whole load.
func doLoad(cs []*clientv3.Client, keys []string, value string, target string, busyBefore float64) {
	if *batch < 1 {
		die("-batch must be positive")
	}
	batches := (len(keys) + *batch - 1) / *batch
	var next int64 = -1
	var errCount int64
	var firstErr atomic.Value
	lat := make([][]time.Duration, *clients)
	s0 := takeSample(cs[0].Endpoints()[0])
	var wg sync.WaitGroup
	for ci := 0; ci < *clients; ci++ {
		wg.Add(1)
		go func(ci int) {
			defer wg.Done()
			c := cs[ci%len(cs)]
			for {
				b := int(atomic.AddInt64(&next, 1))
				if b >= batches {
					return
				}
				lo, hi := b**batch, (b+1)**batch
				if hi > len(keys) {
					hi = len(keys)
				}
				ops := make([]clientv3.Op, 0, hi-lo)
				for _, k := range keys[lo:hi] {
					ops = append(ops, clientv3.OpPut(k, value))
				}
				var err error
				for attempt := 0; attempt < 5; attempt++ { // as kvbench: a leader change costs a retry
					ctx, cancel := context.WithTimeout(context.Background(), *reqTimeout)
					start := time.Now()
					_, err = c.Txn(ctx).Then(ops...).Commit()
					cancel()
					if err == nil {
						lat[ci] = append(lat[ci], time.Since(start))
						break
					}
				}
				if err != nil && atomic.AddInt64(&errCount, 1) == 1 {
					firstErr.Store(err.Error())
				}
			}
		}(ci)
	}
	wg.Wait()
	s1 := takeSample(cs[0].Endpoints()[0])
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	secs := s1.at.Sub(s0.at).Seconds()
	res := result{
		Op: "load", Clients: *clients, Conns: *conns, Target: target, Ops: len(all), Secs: secs,
		P50Ms: pct(all, 0.50), P90Ms: pct(all, 0.90), P99Ms: pct(all, 0.99), P999Ms: pct(all, 0.999),
		MaxMs: pct(all, 1.0), Errors: errCount, KeySize: *keySize, ValSize: *valSize, KeySpace: *keySpace,
		BusyBefore: busyBefore, Label: *label, Round: *round,
	}
	if secs > 0 {
		res.OpsPerSec = float64(len(all)) / secs
		res.ServerCPU = (s1.serverCPU - s0.serverCPU) / secs
		res.LoadgenCPU = (s1.selfCPU - s0.selfCPU) / secs
		res.HostBusy = (s1.hostBusy - s0.hostBusy) / secs
	}
	if v := firstErr.Load(); v != nil {
		res.FirstError = v.(string)
	}
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
	if errCount > 0 {
		os.Exit(1)
	}
}
