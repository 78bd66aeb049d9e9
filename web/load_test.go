package web

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestLoadRulePage serves rule pages over loopback to 200 concurrent keep-alive connections
// and checks the 99th percentile latency. It needs a quiet machine, so it runs only when
// RULEATLAS_LOAD is set. RULEATLAS_LOAD_RATE sets the total requests per second the
// connections send together (default 4000); 0 sends as fast as responses come back, which
// measures throughput rather than latency: with client and server sharing two cores, 200
// connections in that mode queue behind each other whatever the handler costs.
func TestLoadRulePage(t *testing.T) {
	if os.Getenv("RULEATLAS_LOAD") == "" {
		t.Skip("set RULEATLAS_LOAD=1 to run the load test")
	}
	rate := 4000
	if v := os.Getenv("RULEATLAS_LOAD_RATE"); v != "" {
		rate, _ = strconv.Atoi(v)
	}
	rules := fixtureRules()
	for i := range 2000 {
		r := seedRule(fmt.Sprintf("load-%04d", i), fmt.Sprintf("Load rule %d", i), fmt.Sprintf("Call%d", i%50), "T1136.003", "Create Account: Cloud Account")
		rules = append(rules, r)
	}
	s, _ := newTestServer(t, rules, Options{})
	// A server under load has been up for a while: let the background rendering finish.
	cache := s.cur.Load().cache
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		cache.mu.RLock()
		n := len(cache.pages)
		cache.mu.RUnlock()
		if n == len(rules) {
			break
		}
	}
	srv := httptest.NewServer(s)
	defer srv.Close()

	const conns, perConn = 200, 100
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	client := &http.Client{Transport: tr}
	var interval time.Duration // between one connection's requests
	if rate > 0 {
		interval = time.Duration(conns) * time.Second / time.Duration(rate)
	}
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	cpu0 := cpuTime()
	start := time.Now()
	for c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, perConn)
			// Connections start spread over one interval, so the rate is even.
			next := start.Add(interval * time.Duration(c) / conns)
			for i := range perConn {
				if interval > 0 {
					time.Sleep(time.Until(next))
					next = next.Add(interval)
				}
				url := srv.URL + "/rules/" + fmt.Sprintf("load-%04d", (c*perConn+i)%2000)
				t0 := time.Now()
				res, err := client.Get(url)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					t.Errorf("status %d", res.StatusCode)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	slices.Sort(lat)
	p := func(q float64) time.Duration { return lat[int(float64(len(lat)-1)*q)] }
	// CPU per request (server and client together) says what a quiet machine would do, when
	// other work shares this one.
	t.Logf("rate %d/s: %d requests in %v (%.0f/s), %v CPU per request: p50 %v, p90 %v, p99 %v, max %v", rate, len(lat), elapsed,
		float64(len(lat))/elapsed.Seconds(), cpu/time.Duration(len(lat)), p(0.5), p(0.9), p(0.99), lat[len(lat)-1])
	if rate > 0 && p(0.99) > 10*time.Millisecond {
		t.Errorf("p99 %v, want under 10ms", p(0.99))
	}
}
