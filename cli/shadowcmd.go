package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/iotwatch/iotwatch/awsconn"
	"github.com/iotwatch/iotwatch/event"
)

// The one-shot shadow commands, for scripts as `aws iot-data` is: connect,
// send one request, print the accepted document as JSON, exit 0; a
// rejection exits 1 with its code and message.

func runGet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return shadowCommand{op: "get", request: noBody}.run(ctx, args, stdout, stderr)
}

func runDelete(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return shadowCommand{op: "delete", request: noBody}.run(ctx, args, stdout, stderr)
}

func runUpdate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return shadowCommand{op: "update", synopsis: " --desired JSON", request: updateBody}.run(ctx, args, stdout, stderr)
}

// shadowCommand is one of get, update and delete. request registers the
// command's own flags and returns what builds the request after parsing.
type shadowCommand struct {
	op, synopsis string
	request      func(fs *flag.FlagSet) func() (map[string]any, error)
}

func noBody(*flag.FlagSet) func() (map[string]any, error) {
	return func() (map[string]any, error) { return map[string]any{}, nil }
}

func updateBody(fs *flag.FlagSet) func() (map[string]any, error) {
	desired := fs.String("desired", "", `desired state patch as JSON, e.g. '{"led":true}' (null removes a key)`)
	reported := fs.String("reported", "", "reported state patch as JSON (what a device sends)")
	return func() (map[string]any, error) {
		state := map[string]any{}
		for name, text := range map[string]string{"desired": *desired, "reported": *reported} {
			if text == "" {
				continue
			}
			var v any
			if err := json.Unmarshal([]byte(text), &v); err != nil {
				return nil, usagef("--%s %s: not JSON: %v", name, text, err)
			}
			state[name] = v
		}
		if len(state) == 0 {
			return nil, usagef(`give --desired JSON (e.g. --desired '{"led":true}') or --reported JSON`)
		}
		return map[string]any{"state": state}, nil
	}
}

// run connects, waits for the link (a failed first attempt ends the command
// with its diagnosis), sends the request and prints the answer.
func (sc shadowCommand) run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet(sc.op, sc.op+" [-c FILE] [--timeout D] [connection flags]"+sc.synopsis, stderr)
	cfgPath := fs.String("c", "", "configuration (default ./iotwatch.toml, then $XDG_CONFIG_HOME/iotwatch/config.toml)")
	over := addConnFlags(fs)
	timeout := fs.Duration("timeout", 15*time.Second, "give up when not connected and answered within this")
	body := sc.request(fs)
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	request, err := body()
	if err != nil {
		return err
	}
	cfg, opts, err := loadConn(*cfgPath, *over)
	if err != nil {
		return err
	}
	if err := cfg.OneThing(sc.op); err != nil {
		return err
	}
	opts.RequestTimeout = *timeout
	conn, err := awsconn.Dial(opts)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := waitConnected(ctx, conn); err != nil {
		return err
	}
	answer, err := conn.Request(ctx, sc.op, request)
	var rejected *awsconn.RejectedError
	if errors.As(err, &rejected) {
		return fmt.Errorf("%s rejected: %d %s", sc.op, rejected.Code, rejected.Message)
	}
	if err != nil {
		return err
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, answer, "", "  ") != nil {
		pretty.Reset()
		pretty.Write(answer)
	}
	pretty.WriteByte('\n')
	_, err = stdout.Write(pretty.Bytes())
	return err
}

// waitConnected reads the connection's events until its link is up; a
// failed attempt ends the wait with its diagnosis, as does ctx.
func waitConnected(ctx context.Context, conn *awsconn.Conn) error {
	for {
		select {
		case ev, ok := <-conn.Events():
			if !ok {
				return errors.New("connection closed")
			}
			if l, isLink := ev.(event.Link); isLink {
				switch l.State {
				case event.LinkUp:
					return nil
				case event.LinkDown: // one-shot: no waiting for the retry the link would make
					return errors.New(awsconn.Final(l.Err))
				}
			}
		case <-ctx.Done():
			return fmt.Errorf("not connected: %w", ctx.Err())
		}
	}
}
