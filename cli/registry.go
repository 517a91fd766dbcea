package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/iot/types"

	"github.com/iotwatch/iotwatch/awsconn"
	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/event"
)

// lookupThing asks the control plane whether thing is in the registry
// (DescribeThing) and, when it is not, for the registry's nearest name
// (ListThings): a typo's likely meaning, or "" when none is near.
func lookupThing(ctx context.Context, client *iot.Client, thing string) (registered bool, suggestion string, err error) {
	_, err = client.DescribeThing(ctx, &iot.DescribeThingInput{ThingName: &thing})
	var notFound *types.ResourceNotFoundException
	switch {
	case err == nil:
		return true, "", nil
	case !errors.As(err, &notFound):
		return false, "", err // the control plane did not answer the question
	}
	names, _ := awsconn.RegistryThings(client)(ctx)
	return false, config.Nearest(thing, names, max(2, len(thing)/4)), nil
}

// typoCheck is awsconn.Options.Registry: the registry's nearest name when
// it does not hold the thing. A thing missing with no near name says
// nothing: shadows work without the registry (certs init's lab registers
// no thing), so only a likely typo is news.
func typoCheck(client *iot.Client) func(ctx context.Context, thing string) (string, error) {
	return func(ctx context.Context, thing string) (string, error) {
		_, suggestion, err := lookupThing(ctx, client, thing)
		return suggestion, err
	}
}

// checkRegistry is doctor's step: a name that is not in the registry
// while a near one is fails; anything else is said, and passes.
func checkRegistry(ctx context.Context, d *doctor) (string, error) {
	client, where, err := fleetControlPlane(ctx, d.cfg, "", "")
	if err != nil {
		return fmt.Sprintf("not checked: no control plane (%v)", err), nil
	}
	name := d.cfg.Thing.Name
	registered, suggestion, err := lookupThing(ctx, client, name)
	switch {
	case err != nil:
		_, why, found := strings.Cut(err.Error(), "request send failed, ")
		if !found {
			why = err.Error()
		}
		return fmt.Sprintf("not checked: %s did not answer (%s)", where, why), nil
	case registered:
		return fmt.Sprintf("thing %s is in the registry", name), nil
	case suggestion != "":
		return "", errors.New(event.Unregistered{Thing: name, Suggestion: suggestion}.Text())
	}
	return fmt.Sprintf("thing %s is not in the registry (its shadow works without it; aws iot create-thing --thing-name %s registers it)", name, name), nil
}
