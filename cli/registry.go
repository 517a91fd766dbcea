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

// errNoRegistry is a registry that holds no thing at all: shadows are used
// without it (AWS allows that; certs init's lab registers certificates
// only), so a thing missing from it says nothing.
var errNoRegistry = errors.New("the registry holds no things")

// registryLookup is awsconn.Options.Registry over the control plane:
// DescribeThing, and when the thing is not found, the registry's nearest
// name (ListThings) as the suggestion.
func registryLookup(client *iot.Client) func(ctx context.Context, thing string) (bool, string, error) {
	return func(ctx context.Context, thing string) (bool, string, error) {
		_, err := client.DescribeThing(ctx, &iot.DescribeThingInput{ThingName: &thing})
		var notFound *types.ResourceNotFoundException
		switch {
		case err == nil:
			return true, "", nil
		case !errors.As(err, &notFound):
			return false, "", err // the control plane did not answer the question
		}
		names, err := awsconn.RegistryThings(client)(ctx)
		if err == nil && len(names) == 0 {
			return false, "", errNoRegistry
		}
		return false, config.Nearest(thing, names, max(2, len(thing)/4)), nil
	}
}

// checkRegistry is doctor's step: the thing is in the registry, or the
// control plane could not be asked (which is no failure).
func checkRegistry(ctx context.Context, d *doctor) (string, error) {
	if d.conn.Registry == nil {
		return "not checked: no control plane (ListThings, DescribeThing) configured", nil
	}
	registered, suggestion, err := d.conn.Registry(ctx, d.cfg.Thing.Name)
	switch {
	case errors.Is(err, errNoRegistry):
		return "not checked: " + err.Error() + " (shadows are used without it)", nil
	case err != nil:
		_, why, found := strings.Cut(err.Error(), "request send failed, ")
		if !found {
			why = err.Error()
		}
		return fmt.Sprintf("not checked: the control plane did not answer (%s)", why), nil
	case !registered:
		return "", errors.New(event.Unregistered{Thing: d.cfg.Thing.Name, Suggestion: suggestion}.Text())
	}
	return fmt.Sprintf("thing %s is in the registry", d.cfg.Thing.Name), nil
}
