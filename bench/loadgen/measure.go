package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// sampler reads a process's RSS every 100 ms and its CPU time at both ends.
type sampler struct {
	pid     int
	start   time.Time
	cpu0    float64
	samples []float64 // RSS in MiB, every 100 ms from start
	done    chan struct{}
	stopped chan struct{}
}

const sampleEvery = 100 * time.Millisecond

func startSampler(pid int) *sampler {
	s := &sampler{pid: pid, start: time.Now(), cpu0: cpuSeconds(pid), done: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(s.stopped)
		tick := time.NewTicker(sampleEvery)
		defer tick.Stop()
		for {
			s.samples = append(s.samples, s.rss())
			select {
			case <-s.done:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// stop returns the CPU used since start as a percentage of one core, the
// RSS after warmUp (MiB) and the largest RSS seen.
func (s *sampler) stop(warmUp time.Duration) (cpuPercent, warmRSS, maxRSS float64) {
	close(s.done)
	<-s.stopped
	warmRSS = s.samples[min(len(s.samples)-1, int(warmUp/sampleEvery))]
	return 100 * (cpuSeconds(s.pid) - s.cpu0) / time.Since(s.start).Seconds(), warmRSS, slices.Max(s.samples)
}

// rss is the process's resident set in MiB (0 without a pid).
func (s *sampler) rss() float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid))
	if s.pid == 0 || err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// cpuSeconds is utime + stime from /proc/PID/stat (clock ticks of 1/100 s).
func cpuSeconds(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if pid == 0 || err != nil {
		return 0
	}
	// Fields after the parenthesised command name, which may hold spaces.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100
}

func percentile(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return float64(d[min(len(d)-1, int(p*float64(len(d))))]) / float64(time.Millisecond)
}

func printComparison(files []string) error {
	if len(files) != 2 {
		return errors.New("-compare takes two result files: the broker under test, then the baseline")
	}
	var r [2]Result
	for i, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(data, &r[i]); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	fmt.Printf("%-26s %14s %14s %8s\n", fmt.Sprintf("%d devices × %d/s", r[0].Devices, r[0].Rate), r[0].Broker, r[1].Broker, "ratio")
	row := func(name, unit string, a, b float64) {
		ratio := "-"
		if b != 0 {
			ratio = fmt.Sprintf("%.2f", a/b)
		}
		fmt.Printf("%-26s %11.1f %-2s %11.1f %-2s %8s\n", name, a, unit, b, unit, ratio)
	}
	row("reports sent", "", float64(r[0].Sent), float64(r[1].Sent))
	row("reports acknowledged", "", float64(r[0].Acknowledged), float64(r[1].Acknowledged))
	row("p50 report→answer", "ms", r[0].P50ms, r[1].P50ms)
	row("p99 report→answer", "ms", r[0].P99ms, r[1].P99ms)
	row("RSS, all connected", "Mi", r[0].RSSStartMiB, r[1].RSSStartMiB)
	row("RSS, after 10 s reporting", "Mi", r[0].RSSWarmMiB, r[1].RSSWarmMiB)
	row("RSS, max while reporting", "Mi", r[0].RSSMaxMiB, r[1].RSSMaxMiB)
	row("RSS, at the end", "Mi", r[0].RSSEndMiB, r[1].RSSEndMiB)
	row("CPU, of one core", "%", r[0].CPUPercent, r[1].CPUPercent)
	return nil
}
