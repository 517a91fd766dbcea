package localiot

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iot"
)

// fdChild marks the child process TestAcceptSurvivesFDExhaustion runs.
const fdChild = "IOTWATCH_TEST_FD_CHILD"

// TestAcceptSurvivesFDExhaustion: with file descriptors exhausted by
// connections that never speak, both the MQTT and the HTTPS port fail
// their Accepts (logged), and once the connections go, both serve again:
// a TLS MQTT CONNECT and a signed DescribeEndpoint succeed. The test runs
// itself again in a child process whose RLIMIT_NOFILE it lowers.
func TestAcceptSurvivesFDExhaustion(t *testing.T) {
	if os.Getenv(fdChild) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAcceptSurvivesFDExhaustion$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), fdChild+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("the child with a low RLIMIT_NOFILE failed: %v\n%s", err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, "exhausted") {
				t.Log(strings.TrimSpace(line))
			}
		}
		return
	}
	l := newAPILab(t, "", "")
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var was syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &was)
	low := syscall.Rlimit{Cur: uint64(len(fds) + 64), Max: was.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	for _, port := range []struct{ name, addr string }{{"MQTT", l.srv.Addr()}, {"HTTPS", l.srv.APIAddr()}} {
		reserve, err := os.Open(os.DevNull) // freed for the last connection
		if err != nil {
			t.Fatal(err)
		}
		var held []net.Conn
		for {
			c, err := net.DialTimeout("tcp", port.addr, 5*time.Second)
			if err != nil {
				break
			}
			held = append(held, c)
		}
		// Whatever descriptors the emulator gave back meanwhile are
		// taken too; then the reserve is freed for a last connection's
		// socket, so the emulator's Accept of it has none.
		var files []*os.File
		for {
			f, err := os.Open(os.DevNull)
			if err != nil {
				break
			}
			files = append(files, f)
		}
		reserve.Close()
		if c, err := net.DialTimeout("tcp", port.addr, 5*time.Second); err == nil {
			held = append(held, c)
		}
		t.Logf("%s port: descriptors exhausted (limit %d) by %d silent connections", port.name, low.Cur, len(held))
		l.waitLogLine(t, "accept on "+port.addr+" failed", "too many open files")
		for _, f := range files {
			f.Close()
		}
		for _, c := range held {
			c.Close()
		}
		l.mustConnect(t, "monitor", "after-"+port.name)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err = l.iotClient(t).DescribeEndpoint(ctx, &iot.DescribeEndpointInput{})
		cancel()
		if err != nil {
			t.Fatalf("HTTPS after %s's exhaustion: %v", port.name, err)
		}
		l.waitLogLine(t, "accepting again on "+port.addr)
	}
}
