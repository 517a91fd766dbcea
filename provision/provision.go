// Package provision puts a thing on AWS IoT (or the emulator's control
// plane) the way iotwatch uses it: the thing, an active certificate and key,
// a least-privilege device policy attached to both, and the files a board
// and iotwatch need. A failure midway undoes what the run created; a
// manifest lets teardown remove exactly that. It talks to AWS only through
// the AWS SDK for Go v2's iot client and imports pki and config.
package provision

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/smithy-go"
)

// Options says what to set up.
type Options struct {
	Thing      string
	Dir        string // where the files go
	PolicyName string // default iotwatch-device-least-privilege
	// CA is the root CA the device and iotwatch verify the endpoint with:
	// Amazon Root CA 1 for AWS, the emulator's ca.pem for iotwatch serve.
	CA     []byte
	CAFile string
	// Profile and Region go into watch.toml for SigV4; EndpointURL and
	// CABundle are kept for teardown against the same control plane.
	Profile, Region, EndpointURL, CABundle string
	Force                                  bool // replace a key, attach to a thing that has certificates
	DryRun                                 bool // print the calls, make none
	Log                                    io.Writer
}

// step is one call of a run and what undoes it.
type step struct {
	call string // what is printed: the API action and its subject
	do   func(ctx context.Context) error
}

// run is one setup or teardown against a client.
type run struct {
	c    *iot.Client
	o    Options
	m    Manifest
	undo []step // in the order they must run
}

func (r *run) logf(format string, args ...any) {
	if r.o.Log != nil {
		fmt.Fprintf(r.o.Log, format+"\n", args...)
	}
}

// pushUndo records what undoes a call that succeeded.
func (r *run) pushUndo(s step) { r.undo = append([]step{s}, r.undo...) }

// rollback undoes what the run created, newest first, and says what it did.
func (r *run) rollback(ctx context.Context, cause error) error {
	var undone, failed []string
	for _, s := range r.undo {
		if err := s.do(ctx); err != nil {
			failed = append(failed, fmt.Sprintf("%s (%s)", s.call, explain(err)))
			continue
		}
		undone = append(undone, s.call)
		r.logf("undone: %s", s.call)
	}
	msg := cause.Error()
	if len(undone) > 0 {
		msg += "; undid " + strings.Join(undone, ", ")
	}
	if len(failed) > 0 {
		msg += "; COULD NOT UNDO " + strings.Join(failed, ", ") + ": remove them by hand"
	}
	if len(undone) == 0 && len(failed) == 0 {
		msg += "; nothing had been created"
	}
	return errors.New(msg)
}

// explain words an AWS error with the action it refused, or says that no
// credentials were found.
func explain(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDeniedException", "UnauthorizedException", "ForbiddenException":
			return fmt.Sprintf("%s: %s — your AWS credentials may not make this call: allow it in their IAM policy", ae.ErrorCode(), ae.ErrorMessage())
		}
		return fmt.Sprintf("%s: %s", ae.ErrorCode(), ae.ErrorMessage())
	}
	if s := err.Error(); strings.Contains(s, "failed to refresh cached credentials") || strings.Contains(s, "failed to retrieve credentials") || strings.Contains(s, "no EC2 IMDS role") {
		return "no AWS credentials found: run 'aws configure', or set AWS_PROFILE (or --profile), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
	}
	return err.Error()
}

func isCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}
