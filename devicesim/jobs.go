package devicesim

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/iotwatch/iotwatch/awsconn"
)

// The simulated device's AWS IoT Jobs client, as the firmware runs it: it
// asks for the next job at every connect and when notify-next names one,
// rejects documents it cannot act on, and for an OTA downloads the image
// over HTTPS (the MQTT connection's CA), checks its size and SHA-256,
// reports progress in statusDetails, reboots into it and reports SUCCEEDED
// only once the new image is up and connected again.

// execution is the part of a Jobs execution the device reads.
type execution struct {
	JobID         string            `json:"jobId"`
	StatusDetails map[string]string `json:"statusDetails"`
	JobDocument   json.RawMessage   `json:"jobDocument"`
}

func (s *Sim) jobsPrefix() string { return "$aws/things/" + s.o.Conn.Thing + "/jobs" }

// jobsOnConnect subscribes to the answers and notify-next (once per
// connection; awsconn renews them after a reconnect) and asks for the next
// job.
func (s *Sim) jobsOnConnect() {
	if !s.jobsSubscribed {
		p := s.jobsPrefix()
		for _, f := range []string{p + "/notify-next", p + "/start-next/+", p + "/+/update/+"} {
			if err := s.conn.SubscribeRaw(f); err != nil {
				s.logf("jobs: %v", err)
				return
			}
		}
		s.jobsSubscribed = true
	}
	s.startNext()
}

func (s *Sim) startNext() {
	s.jobPublish(s.jobsPrefix()+"/start-next", map[string]any{"clientToken": "start-next", "stepTimeoutInMinutes": jobStepMinutes})
}

// jobStepMinutes is the step timeout the device asks for: a hung update is
// TIMED_OUT by the service after it.
const jobStepMinutes = 10

func (s *Sim) onJobMessage(topic string, payload []byte) {
	rest, ok := strings.CutPrefix(topic, s.jobsPrefix()+"/")
	if !ok {
		return
	}
	var msg struct {
		Execution *execution `json:"execution"`
		Code      string     `json:"code"`
		Message   string     `json:"message"`
	}
	if err := json.Unmarshal(payload, &msg); err != nil {
		s.logf("jobs: %s is not JSON", topic)
		return
	}
	switch {
	case rest == "notify-next":
		// The service moved on from the job the device was busy with (it
		// timed out or was canceled): forget it, as the firmware does.
		if msg.Execution == nil || msg.Execution.JobID != s.jobBusy {
			s.jobBusy = ""
		}
		if msg.Execution != nil && s.jobBusy == "" {
			s.startNext()
		}
	case rest == "start-next/accepted":
		if msg.Execution != nil {
			s.runJob(*msg.Execution)
		}
	case strings.HasSuffix(rest, "/rejected"):
		s.logf("jobs: %s: %s %s", strings.TrimSuffix(rest, "/rejected"), msg.Code, msg.Message)
	}
}

func (s *Sim) runJob(e execution) {
	if s.jobBusy == e.JobID {
		return
	}
	ota, reason := ParseJob(e.JobDocument)
	switch {
	case reason != "":
		s.logf("job %s: rejected: %s", e.JobID, reason)
		s.updateJob(e.JobID, "REJECTED", map[string]string{"reason": reason})
		return
	case s.jobFault == FaultJobFail:
		s.jobFault = ""
		s.logf("fault: job %s fails", e.JobID)
		s.updateJob(e.JobID, "FAILED", map[string]string{"reason": "injected failure (--fault job-fail)"})
		return
	case s.jobFault == FaultJobHang:
		s.jobFault = ""
		s.logf("fault: job %s hangs (the service times it out)", e.JobID)
		s.jobBusy = e.JobID
		return
	}
	switch NextStep(e.StatusDetails, s.dev.FW, ota.Version) {
	case StepConfirm:
		s.logf("job %s: running %s after the update: SUCCEEDED", e.JobID, ota.Version)
		s.updateJob(e.JobID, "SUCCEEDED", map[string]string{"fw": ota.Version})
	case StepRolledBack:
		reason := fmt.Sprintf("rebooted into %s, not %s: rolled back", s.dev.FW, ota.Version)
		s.logf("job %s: %s", e.JobID, reason)
		s.updateJob(e.JobID, "FAILED", map[string]string{"reason": reason})
	default:
		s.jobBusy = e.JobID
		go s.download(s.conn, e.JobID, ota, s.rebootMidUpdate())
	}
}

// rebootMidUpdate takes the reboot-during-update fault, once.
func (s *Sim) rebootMidUpdate() bool {
	if s.jobFault != FaultRebootDuringUpdate {
		return false
	}
	s.jobFault = ""
	return true
}

// download fetches and checks the image off the loop, reporting progress on
// the connection it started on; the loop then reboots into the image, or
// fails the job with the reason.
func (s *Sim) download(conn *awsconn.Conn, jobID string, ota OTA, rebootHalfway bool) {
	progress := func(percent int) {
		publishJob(conn, s.jobsPrefix()+"/"+jobID+"/update", map[string]any{"status": "IN_PROGRESS",
			"statusDetails": map[string]string{"step": "download", "progress": fmt.Sprintf("%d%%", percent)}})
	}
	progress(0)
	err := s.fetchImage(ota, progress, rebootHalfway)
	s.do(func() {
		s.jobBusy = ""
		switch {
		case err == errRebootedHalfway:
			s.logf("fault: the device reboots halfway through job %s's download", jobID)
			s.dev.Reboot(time.Now(), "SW")
			s.drop(500 * time.Millisecond)
		case err != nil:
			s.logf("job %s: %v", jobID, err)
			s.updateJob(jobID, "FAILED", map[string]string{"reason": err.Error()})
		default:
			s.logf("job %s: image %s checked; rebooting into it", jobID, ota.Version)
			s.updateJob(jobID, "IN_PROGRESS", map[string]string{"step": stageRebooting, "target": ota.Version})
			s.dev.FW = ota.Version
			s.dev.Reboot(time.Now(), "SW")
			s.drop(500 * time.Millisecond)
		}
	})
}

var errRebootedHalfway = fmt.Errorf("rebooted halfway")

// fetchImage downloads the image, trusting the CA the MQTT connection
// trusts, and checks its size and SHA-256 against the document.
func (s *Sim) fetchImage(ota OTA, progress func(percent int), rebootHalfway bool) error {
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.o.Conn.TLS != nil {
		conf.RootCAs = s.o.Conn.TLS.RootCAs
	}
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: conf}}
	res, err := client.Get(ota.URL)
	if err != nil {
		return fmt.Errorf("download: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("download: %s", res.Status)
	}
	h := sha256.New()
	var got int64
	next := 25
	buf := make([]byte, 32<<10)
	for {
		n, err := res.Body.Read(buf)
		h.Write(buf[:n])
		got += int64(n)
		if got > ota.Size {
			return fmt.Errorf("the image is larger than the job's %d bytes", ota.Size)
		}
		for next < 100 && got*100 >= int64(next)*ota.Size {
			if rebootHalfway && next == 50 {
				return errRebootedHalfway
			}
			progress(next)
			next += 25
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("download: %v after %d bytes", err, got)
		}
	}
	if got != ota.Size {
		return fmt.Errorf("the image is %d bytes; the job says %d", got, ota.Size)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != ota.SHA256 {
		return fmt.Errorf("sha256 mismatch: the image is %s, the job says %s", sum, ota.SHA256)
	}
	return nil
}

func (s *Sim) updateJob(jobID, status string, details map[string]string) {
	s.jobPublish(s.jobsPrefix()+"/"+jobID+"/update", map[string]any{"status": status, "statusDetails": details, "clientToken": status})
}

// jobPublish sends a Jobs request from the loop; a device offline skips it
// (it asks again at its next connect).
func (s *Sim) jobPublish(topic string, body map[string]any) {
	if err := publishJob(s.conn, topic, body); err != nil {
		s.logf("jobs: publish %s: %v", topic, err)
	}
}

func publishJob(conn *awsconn.Conn, topic string, body map[string]any) error {
	if conn == nil {
		return nil
	}
	payload, _ := json.Marshal(body)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return conn.Publish(ctx, topic, payload)
}
