package localiot

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/iot/types"
	"github.com/aws/aws-sdk-go-v2/service/iotdataplane"
)

// TestControlPlaneWithSDK drives every control-plane operation with the AWS
// SDK for Go v2, through the AWS tutorial's flow and its errors.
func TestControlPlaneWithSDK(t *testing.T) { controlFlow(t, newAPILab(t, t.TempDir(), "")) }

func controlFlow(t *testing.T, l *lab) {
	c, ctx := l.iotClient(t), context.Background()

	made, err := c.CreateThing(ctx, &iot.CreateThingInput{ThingName: aws.String("lamp"),
		AttributePayload: &types.AttributePayload{Attributes: map[string]string{"room": "hall"}}})
	if err != nil {
		t.Fatal(err)
	}
	if *made.ThingArn != "arn:aws:iot:eu-west-1:"+Account+":thing/lamp" || *made.ThingId == "" {
		t.Errorf("CreateThing: %s %s", *made.ThingArn, *made.ThingId)
	}
	_, err = c.CreateThing(ctx, &iot.CreateThingInput{ThingName: aws.String("lamp")})
	wantAPIError(t, "CreateThing with other attributes", err, "ResourceAlreadyExistsException")
	c.CreateThing(ctx, &iot.CreateThingInput{ThingName: aws.String("fan")})
	desc, err := c.DescribeThing(ctx, &iot.DescribeThingInput{ThingName: aws.String("lamp")})
	if err != nil || desc.Attributes["room"] != "hall" || desc.Version != 1 || *desc.DefaultClientId != "lamp" {
		t.Fatalf("DescribeThing: %+v %v", desc, err)
	}
	_, err = c.DescribeThing(ctx, &iot.DescribeThingInput{ThingName: aws.String("nope")})
	wantAPIError(t, "DescribeThing of a missing thing", err, "ResourceNotFoundException")
	page, err := c.ListThings(ctx, &iot.ListThingsInput{MaxResults: aws.Int32(1)})
	if err != nil || len(page.Things) != 1 || *page.Things[0].ThingName != "fan" || page.NextToken == nil {
		t.Fatalf("ListThings page 1: %+v %v", page, err)
	}
	page, err = c.ListThings(ctx, &iot.ListThingsInput{NextToken: page.NextToken})
	if err != nil || len(page.Things) != 1 || *page.Things[0].ThingName != "lamp" || page.NextToken != nil {
		t.Fatalf("ListThings page 2: %+v %v", page, err)
	}
	hall, _ := c.ListThings(ctx, &iot.ListThingsInput{AttributeName: aws.String("room"), AttributeValue: aws.String("ha"), UsePrefixAttributeValue: true})
	if len(hall.Things) != 1 {
		t.Errorf("ListThings by attribute prefix: %+v", hall.Things)
	}

	keys, err := c.CreateKeysAndCertificate(ctx, &iot.CreateKeysAndCertificateInput{SetAsActive: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(*keys.CertificateId) != 64 || !strings.Contains(*keys.KeyPair.PrivateKey, "RSA PRIVATE KEY") || !strings.Contains(*keys.CertificatePem, "CERTIFICATE") {
		t.Errorf("CreateKeysAndCertificate: id %q", *keys.CertificateId)
	}
	cd, err := c.DescribeCertificate(ctx, &iot.DescribeCertificateInput{CertificateId: keys.CertificateId})
	if err != nil || cd.CertificateDescription.Status != types.CertificateStatusActive || cd.CertificateDescription.Validity.NotAfter == nil ||
		*cd.CertificateDescription.CertificateArn != *keys.CertificateArn || cd.CertificateDescription.CreationDate == nil {
		t.Fatalf("DescribeCertificate: %+v %v", cd, err)
	}

	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iot:Connect","iot:Publish","iot:Subscribe","iot:Receive"],"Resource":"*"}]}`
	cp, err := c.CreatePolicy(ctx, &iot.CreatePolicyInput{PolicyName: aws.String("PubSubToAnyTopic"), PolicyDocument: aws.String(doc)})
	if err != nil || *cp.PolicyVersionId != "1" || *cp.PolicyDocument != doc {
		t.Fatalf("CreatePolicy: %+v %v", cp, err)
	}
	_, err = c.CreatePolicy(ctx, &iot.CreatePolicyInput{PolicyName: aws.String("bad"), PolicyDocument: aws.String(`{"Statement":[]}`)})
	wantAPIError(t, "CreatePolicy, malformed", err, "MalformedPolicyException")
	gp, err := c.GetPolicy(ctx, &iot.GetPolicyInput{PolicyName: aws.String("PubSubToAnyTopic")})
	if err != nil || *gp.DefaultVersionId != "1" || gp.CreationDate == nil || *gp.PolicyDocument != doc {
		t.Fatalf("GetPolicy: %+v %v", gp, err)
	}
	policyVersions(t, c, "PubSubToAnyTopic", doc)
	if _, err := c.AttachPolicy(ctx, &iot.AttachPolicyInput{PolicyName: aws.String("PubSubToAnyTopic"), Target: keys.CertificateArn}); err != nil {
		t.Fatal(err)
	}
	lp, err := c.ListAttachedPolicies(ctx, &iot.ListAttachedPoliciesInput{Target: keys.CertificateArn})
	if err != nil || len(lp.Policies) != 1 || *lp.Policies[0].PolicyName != "PubSubToAnyTopic" {
		t.Fatalf("ListAttachedPolicies: %+v %v", lp, err)
	}
	_, err = c.DeletePolicy(ctx, &iot.DeletePolicyInput{PolicyName: aws.String("PubSubToAnyTopic")})
	wantAPIError(t, "DeletePolicy while attached", err, "DeleteConflictException")
	if _, err := c.AttachThingPrincipal(ctx, &iot.AttachThingPrincipalInput{ThingName: aws.String("lamp"), Principal: keys.CertificateArn}); err != nil {
		t.Fatal(err)
	}
	tp, err := c.ListThingPrincipals(ctx, &iot.ListThingPrincipalsInput{ThingName: aws.String("lamp")})
	if err != nil || len(tp.Principals) != 1 || tp.Principals[0] != *keys.CertificateArn {
		t.Fatalf("ListThingPrincipals: %+v %v", tp, err)
	}
	_, err = c.AttachThingPrincipal(ctx, &iot.AttachThingPrincipalInput{ThingName: aws.String("nope"), Principal: keys.CertificateArn})
	wantAPIError(t, "AttachThingPrincipal to a missing thing", err, "ResourceNotFoundException")
	ep, err := c.DescribeEndpoint(ctx, &iot.DescribeEndpointInput{EndpointType: aws.String("iot:Data-ATS")})
	if err != nil || *ep.EndpointAddress != "127.0.0.1" {
		t.Fatalf("DescribeEndpoint: %+v %v", ep, err)
	}

	_, err = c.DeleteCertificate(ctx, &iot.DeleteCertificateInput{CertificateId: keys.CertificateId})
	wantAPIError(t, "DeleteCertificate while ACTIVE", err, "CertificateStateException")
	_, err = c.UpdateCertificate(ctx, &iot.UpdateCertificateInput{CertificateId: keys.CertificateId, NewStatus: types.CertificateStatusRevoked})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UpdateCertificate(ctx, &iot.UpdateCertificateInput{CertificateId: keys.CertificateId, NewStatus: types.CertificateStatusActive})
	wantAPIError(t, "UpdateCertificate REVOKED to ACTIVE", err, "CertificateStateException")
	_, err = c.DeleteThing(ctx, &iot.DeleteThingInput{ThingName: aws.String("lamp"), ExpectedVersion: aws.Int64(5)})
	wantAPIError(t, "DeleteThing, wrong version", err, "VersionConflictException")
	if _, err := c.DetachThingPrincipal(ctx, &iot.DetachThingPrincipalInput{ThingName: aws.String("lamp"), Principal: keys.CertificateArn}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DetachPolicy(ctx, &iot.DetachPolicyInput{PolicyName: aws.String("PubSubToAnyTopic"), Target: keys.CertificateArn}); err != nil {
		t.Fatal(err)
	}
	for what, err := range map[string]error{
		"DeleteCertificate": second(c.DeleteCertificate(ctx, &iot.DeleteCertificateInput{CertificateId: keys.CertificateId})),
		"DeletePolicy":      second(c.DeletePolicy(ctx, &iot.DeletePolicyInput{PolicyName: aws.String("PubSubToAnyTopic")})),
		"DeleteThing":       second(c.DeleteThing(ctx, &iot.DeleteThingInput{ThingName: aws.String("lamp"), ExpectedVersion: aws.Int64(1)})),
	} {
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	_, err = c.DescribeCertificate(ctx, &iot.DescribeCertificateInput{CertificateId: keys.CertificateId})
	wantAPIError(t, "DescribeCertificate after delete", err, "ResourceNotFoundException")
	_, err = c.GetPolicy(ctx, &iot.GetPolicyInput{PolicyName: aws.String("PubSubToAnyTopic")})
	wantAPIError(t, "GetPolicy after delete", err, "ResourceNotFoundException")
}

// TestDataPlaneWithSDK: shadows, publish and retained messages over HTTPS
// answer from the same service MQTT clients see.
func TestDataPlaneWithSDK(t *testing.T) { dataFlow(t, newAPILab(t, "", "")) }

func dataFlow(t *testing.T, l *lab) {
	d, ctx := l.dataClient(t), context.Background()
	mon := l.mustConnect(t, "monitor", "iotwatch-mon")
	p := "$aws/things/lamp/shadow"
	mon.subscribe(t, p+"/update/accepted", p+"/update/delta", p+"/update/documents", p+"/delete/accepted", "lab/#")

	_, err := d.GetThingShadow(ctx, &iotdataplane.GetThingShadowInput{ThingName: aws.String("lamp")})
	wantAPIError(t, "GetThingShadow before any update", err, "ResourceNotFoundException")
	up, err := d.UpdateThingShadow(ctx, &iotdataplane.UpdateThingShadowInput{ThingName: aws.String("lamp"),
		Payload: []byte(`{"state":{"desired":{"on":true}},"clientToken":"http-1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	var accepted map[string]any
	json.Unmarshal(up.Payload, &accepted)
	if accepted["version"] != float64(1) || accepted["clientToken"] != "http-1" {
		t.Errorf("UpdateThingShadow answered %s", up.Payload)
	}
	mon.inbox.waitFor(t, p+"/update/accepted", token("http-1"))
	mon.inbox.waitFor(t, p+"/update/delta", token("http-1"))
	mon.inbox.waitFor(t, p+"/update/documents", token("http-1"))
	_, err = d.UpdateThingShadow(ctx, &iotdataplane.UpdateThingShadowInput{ThingName: aws.String("lamp"),
		Payload: []byte(`{"state":{"reported":{"on":true}},"version":7}`)})
	wantAPIError(t, "UpdateThingShadow with a stale version", err, "ConflictException")
	_, err = d.UpdateThingShadow(ctx, &iotdataplane.UpdateThingShadowInput{ThingName: aws.String("lamp"), Payload: []byte(`{"nostate":1}`)})
	wantAPIError(t, "UpdateThingShadow without state", err, "InvalidRequestException")

	// An MQTT update is seen by an HTTPS get.
	mon.publish(t, p+"/update", `{"state":{"reported":{"on":true}}}`)
	mon.inbox.waitFor(t, p+"/update/accepted", func(m map[string]any) bool { return m["version"] == float64(2) })
	got, err := d.GetThingShadow(ctx, &iotdataplane.GetThingShadowInput{ThingName: aws.String("lamp")})
	if err != nil || !strings.Contains(string(got.Payload), `"reported":{"on":true}`) || !strings.Contains(string(got.Payload), `"version":2`) {
		t.Fatalf("GetThingShadow: %s %v", got.Payload, err)
	}

	for _, name := range []string{"config", "ota"} {
		if _, err := d.UpdateThingShadow(ctx, &iotdataplane.UpdateThingShadowInput{ThingName: aws.String("lamp"), ShadowName: aws.String(name),
			Payload: []byte(`{"state":{"reported":{"v":1}}}`)}); err != nil {
			t.Fatal(err)
		}
	}
	named, err := d.ListNamedShadowsForThing(ctx, &iotdataplane.ListNamedShadowsForThingInput{ThingName: aws.String("lamp"), PageSize: aws.Int32(1)})
	if err != nil || len(named.Results) != 1 || named.Results[0] != "config" || named.NextToken == nil {
		t.Fatalf("ListNamedShadowsForThing: %+v %v", named, err)
	}
	del, err := d.DeleteThingShadow(ctx, &iotdataplane.DeleteThingShadowInput{ThingName: aws.String("lamp")})
	if err != nil || !strings.Contains(string(del.Payload), `"version":2`) {
		t.Fatalf("DeleteThingShadow: %s %v", del.Payload, err)
	}
	mon.inbox.waitFor(t, p+"/delete/accepted", func(m map[string]any) bool { return m["version"] == float64(2) })

	if _, err := d.Publish(ctx, &iotdataplane.PublishInput{Topic: aws.String("lab/a/b"), Payload: []byte(`{"n":1}`), Qos: 1, Retain: true}); err != nil {
		t.Fatal(err)
	}
	mon.inbox.waitFor(t, "lab/a/b", func(m map[string]any) bool { return m["n"] == float64(1) })
	rm, err := d.GetRetainedMessage(ctx, &iotdataplane.GetRetainedMessageInput{Topic: aws.String("lab/a/b")})
	if err != nil || string(rm.Payload) != `{"n":1}` || rm.Qos != 1 || rm.LastModifiedTime == 0 {
		t.Fatalf("GetRetainedMessage: %+v %v", rm, err)
	}
	_, err = d.GetRetainedMessage(ctx, &iotdataplane.GetRetainedMessageInput{Topic: aws.String("lab/none")})
	wantAPIError(t, "GetRetainedMessage of a topic without one", err, "ResourceNotFoundException")
	list, err := d.ListRetainedMessages(ctx, &iotdataplane.ListRetainedMessagesInput{})
	if err != nil || len(list.RetainedTopics) != 1 || *list.RetainedTopics[0].Topic != "lab/a/b" || list.RetainedTopics[0].PayloadSize != 7 {
		t.Fatalf("ListRetainedMessages: %+v %v", list, err)
	}
	// A shadow request published over HTTPS reaches the shadow service.
	if _, err := d.Publish(ctx, &iotdataplane.PublishInput{Topic: aws.String(p + "/update"), Qos: 1,
		Payload: []byte(`{"state":{"desired":{"on":false}},"clientToken":"via-publish"}`)}); err != nil {
		t.Fatal(err)
	}
	mon.inbox.waitFor(t, p+"/update/accepted", token("via-publish"))
	_, err = d.Publish(ctx, &iotdataplane.PublishInput{Topic: aws.String(p + "/update"), Retain: true})
	wantAPIError(t, "retained publish to $aws", err, "InvalidRequestException")
}

// policyVersions: CreatePolicyVersion (up to AWS's five), ListPolicyVersions,
// GetPolicyVersion, SetDefaultPolicyVersion and DeletePolicyVersion on a
// policy whose version 1 is doc; it leaves version 1 alone and default.
func policyVersions(t *testing.T, c *iot.Client, name, doc string) {
	ctx := context.Background()
	doc2 := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}`
	cv, err := c.CreatePolicyVersion(ctx, &iot.CreatePolicyVersionInput{PolicyName: aws.String(name), PolicyDocument: aws.String(doc2), SetAsDefault: true})
	if err != nil || *cv.PolicyVersionId != "2" || !cv.IsDefaultVersion || *cv.PolicyDocument != doc2 || cv.PolicyArn == nil {
		t.Fatalf("CreatePolicyVersion: %+v %v", cv, err)
	}
	_, err = c.CreatePolicyVersion(ctx, &iot.CreatePolicyVersionInput{PolicyName: aws.String(name), PolicyDocument: aws.String(doc2 + " x")})
	wantAPIError(t, "CreatePolicyVersion, trailing garbage", err, "MalformedPolicyException")
	lv, err := c.ListPolicyVersions(ctx, &iot.ListPolicyVersionsInput{PolicyName: aws.String(name)})
	if err != nil || len(lv.PolicyVersions) != 2 || *lv.PolicyVersions[0].VersionId != "2" || !lv.PolicyVersions[0].IsDefaultVersion ||
		lv.PolicyVersions[1].IsDefaultVersion || lv.PolicyVersions[1].CreateDate == nil {
		t.Fatalf("ListPolicyVersions: %+v %v", lv, err)
	}
	gv, err := c.GetPolicyVersion(ctx, &iot.GetPolicyVersionInput{PolicyName: aws.String(name), PolicyVersionId: aws.String("1")})
	if err != nil || *gv.PolicyDocument != doc || gv.IsDefaultVersion || *gv.PolicyName != name || gv.CreationDate == nil {
		t.Fatalf("GetPolicyVersion: %+v %v", gv, err)
	}
	if gp, err := c.GetPolicy(ctx, &iot.GetPolicyInput{PolicyName: aws.String(name)}); err != nil || *gp.DefaultVersionId != "2" || *gp.PolicyDocument != doc2 {
		t.Fatalf("GetPolicy after the new default: %+v %v", gp, err)
	}
	_, err = c.DeletePolicyVersion(ctx, &iot.DeletePolicyVersionInput{PolicyName: aws.String(name), PolicyVersionId: aws.String("2")})
	wantAPIError(t, "DeletePolicyVersion of the default", err, "DeleteConflictException")
	_, err = c.DeletePolicy(ctx, &iot.DeletePolicyInput{PolicyName: aws.String(name)})
	wantAPIError(t, "DeletePolicy with versions", err, "DeleteConflictException")
	for i := 3; i <= 5; i++ {
		if _, err := c.CreatePolicyVersion(ctx, &iot.CreatePolicyVersionInput{PolicyName: aws.String(name), PolicyDocument: aws.String(doc2)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.CreatePolicyVersion(ctx, &iot.CreatePolicyVersionInput{PolicyName: aws.String(name), PolicyDocument: aws.String(doc2)})
	wantAPIError(t, "a sixth version", err, "VersionsLimitExceededException")
	if _, err := c.SetDefaultPolicyVersion(ctx, &iot.SetDefaultPolicyVersionInput{PolicyName: aws.String(name), PolicyVersionId: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.SetDefaultPolicyVersion(ctx, &iot.SetDefaultPolicyVersionInput{PolicyName: aws.String(name), PolicyVersionId: aws.String("9")})
	wantAPIError(t, "SetDefaultPolicyVersion of a missing version", err, "ResourceNotFoundException")
	for _, id := range []string{"2", "3", "4", "5"} {
		if _, err := c.DeletePolicyVersion(ctx, &iot.DeletePolicyVersionInput{PolicyName: aws.String(name), PolicyVersionId: aws.String(id)}); err != nil {
			t.Fatalf("DeletePolicyVersion %s: %v", id, err)
		}
	}
	if gp, err := c.GetPolicy(ctx, &iot.GetPolicyInput{PolicyName: aws.String(name)}); err != nil || *gp.DefaultVersionId != "1" || *gp.PolicyDocument != doc {
		t.Fatalf("GetPolicy back on version 1: %+v %v", gp, err)
	}
}
