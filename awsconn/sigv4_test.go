package awsconn

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// TestPresignAppendsTheSessionTokenAfterSigning: AWS IoT expects temporary
// credentials' token outside the signature, so the signed part of the URL
// is the same with and without it.
func TestPresignAppendsTheSessionTokenAfterSigning(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	plain := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"}
	temporary := plain
	temporary.SessionToken = "token/with+chars="
	a, err := PresignMQTT(context.Background(), plain, "abc-ats.iot.eu-west-1.amazonaws.com", 443, "eu-west-1", at)
	if err != nil {
		t.Fatal(err)
	}
	b, err := PresignMQTT(context.Background(), temporary, "abc-ats.iot.eu-west-1.amazonaws.com", 443, "eu-west-1", at)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a, "wss://abc-ats.iot.eu-west-1.amazonaws.com/mqtt?") || !strings.Contains(a, "iotdevicegateway%2Faws4_request") {
		t.Fatalf("URL %s", a)
	}
	if b != a+"&X-Amz-Security-Token="+url.QueryEscape(temporary.SessionToken) {
		t.Fatalf("with a token:\n%s\nwithout:\n%s", b, a)
	}
	other, _ := PresignMQTT(context.Background(), plain, "127.0.0.1", 8443, "eu-west-1", at)
	if !strings.HasPrefix(other, "wss://127.0.0.1:8443/mqtt?") {
		t.Fatalf("a port other than 443 is part of the host: %s", other)
	}
}
