package localiot

import (
	"crypto/tls"
	"fmt"
	"github.com/aws/aws-sdk-go-v2/aws"
	"io"
	"path/filepath"

	"github.com/iotwatch/iotwatch/localiot/policy"
	"github.com/iotwatch/iotwatch/localiot/sigv4"
	"github.com/iotwatch/iotwatch/pki"
)

// openAWS opens the registry and, with Options.APIListen, binds the HTTPS
// API. The AWS credentials and region come from the PKI directory
// (written by certs init, or now when an older PKI has none).
func (s *Server) openAWS(o Options, tlsConf *tls.Config) error {
	creds, err := pki.EnsureAWSCredentials(o.PKIDir, "")
	if err != nil && o.APIListen != "" {
		return fmt.Errorf("AWS credentials for the HTTPS API: %w", err)
	}
	region := creds.Region
	if region == "" {
		region = pki.DefaultRegion
	}
	// Without the CA key the registry still authorizes; only
	// CreateKeysAndCertificate needs it.
	ca, _ := pki.LoadCA(filepath.Join(o.PKIDir, pki.CACertFile), filepath.Join(o.PKIDir, pki.CAKeyFile))
	if s.registry, err = openRegistry(kvOf(s.store), region, ca); err != nil {
		return err
	}
	s.policy.reg = s.registry
	exists := func(thing string) bool { _, err := s.registry.DescribeThing(thing); return err == nil }
	if s.jobs, err = openJobs(kvOf(s.store), o.JobMinute, exists); err != nil {
		return err
	}
	s.jobs.publish = func(topic string, payload []byte) { _ = s.broker.Publish(topic, payload, false, 1) }
	if err := s.registerLabCerts(o.PKIDir); err != nil {
		return fmt.Errorf("registering the certificates of %s: %w", o.PKIDir, err)
	}
	// No connection is accepted before Start, so the listener's
	// configuration may still change here.
	tlsConf.VerifyConnection = s.refuseUnregistered
	if o.APIListen == "" {
		return nil
	}
	var iam []*policy.Document
	if o.IAMPolicy != "" {
		doc, err := policy.Parse(o.IAMPolicy)
		if err != nil {
			return fmt.Errorf("--iam-policy: %w", err)
		}
		iam = []*policy.Document{doc}
	}
	s.policy.iam = iam
	if s.files, err = openFiles(o.DataDir); err != nil {
		return fmt.Errorf("the files jobs download: %w", err)
	}
	s.jobs.presign = s.presigner(aws.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey}, region)
	v := &sigv4.Verifier{Creds: sigv4.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey}, Region: region}
	logOut := o.Log
	if logOut == nil {
		logOut = io.Discard
	}
	s.api, err = newAPI(s, o.APIListen, tlsConf, v, iam, logOut)
	return err
}

// APIAddr is the HTTPS API's bound address, "" when it is off.
func (s *Server) APIAddr() string {
	if s.api == nil {
		return ""
	}
	return s.api.ln.Addr().String()
}
