package qualify

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// AWS IoT's TLS cipher suites (its "Transport security" page): those it
// supports, and the ones it recommends (ECDHE with AES-GCM, and TLS 1.3's).
var (
	awsSupportedSuites = []uint16{
		tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384, tls.TLS_CHACHA20_POLY1305_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		0xc024, 0xc028, // ECDHE-ECDSA-AES256-SHA384, ECDHE-RSA-AES256-SHA384
		tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
		tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_128_CBC_SHA256, tls.TLS_RSA_WITH_AES_128_CBC_SHA,
		tls.TLS_RSA_WITH_AES_256_GCM_SHA384, 0x003d, tls.TLS_RSA_WITH_AES_256_CBC_SHA, // 0x003d: AES256-SHA256
	}
	awsRecommendedSuites = []uint16{
		tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384, tls.TLS_CHACHA20_POLY1305_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	}
)

// signalling suites are not cipher suites: renegotiation info, fallback,
// and GREASE values (0x?a?a).
func signalling(s uint16) bool {
	return s == 0x00ff || s == 0x5600 || (s&0x0f0f == 0x0a0a && s>>8 == s&0xff)
}

func suiteName(s uint16) string {
	if n := tls.CipherSuiteName(s); !strings.HasPrefix(n, "0x") {
		return n
	}
	return fmt.Sprintf("0x%04X", s)
}

// gradeCipherSuites grades the ClientHello's suites against AWS IoT's.
func gradeCipherSuites(tl Timeline, p Params) Outcome {
	h, ok := tl.first(is(Hello, ""))
	if !ok {
		return never(tl, p, "the device's TLS ClientHello")
	}
	var supported, recommended, other []string
	for _, s := range h.Suites {
		switch {
		case signalling(s):
		case slices.Contains(awsRecommendedSuites, s):
			recommended = append(recommended, suiteName(s))
			supported = append(supported, suiteName(s))
		case slices.Contains(awsSupportedSuites, s):
			supported = append(supported, suiteName(s))
		default:
			other = append(other, suiteName(s))
		}
	}
	o := Outcome{Observed: []string{"offered: " + strings.Join(append(slices.Clone(supported), other...), ", ")}}
	switch {
	case len(supported) == 0:
		o.Verdict, o.Reason = Fail, "the device offers none of AWS IoT's cipher suites: "+strings.Join(other, ", ")
	case len(recommended) == 0:
		o.Verdict, o.Reason = Warn, "the device offers AWS IoT cipher suites but none it recommends (ECDHE with AES-GCM or TLS 1.3)"
	case len(other) > 0:
		o.Verdict, o.Reason = Warn, fmt.Sprintf("the device offers %d recommended suites but also ones AWS IoT does not support: %s", len(recommended), strings.Join(other, ", "))
	default:
		o.Verdict, o.Reason = Pass, fmt.Sprintf("the device offers %d of AWS IoT's recommended cipher suites and no unsupported one", len(recommended))
	}
	return o
}

// gradePolicies: no wildcard in the device certificate's policies that
// reaches past its own thing. A wildcard action, a resource of "*" or one
// whose client or topic part is a bare wildcard fails; wildcards below a
// part the certificate's thing pins (a policy variable or its name) warn.
func gradePolicies(tl Timeline, p Params) Outcome {
	if _, ok := tl.first(is(TLSDone, "")); !ok {
		return never(tl, p, "the device's TLS handshake")
	}
	if p.Policies == nil {
		return decided(Fail, "no policy is attached to the device's certificate in the registry")
	}
	var broad, scoped []string
	names := make([]string, 0, len(p.Policies))
	for n := range p.Policies {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b, s, err := wildcards(p.Policies[n], p.Thing)
		if err != nil {
			return decided(Fail, "policy %s cannot be read: %v", n, err)
		}
		for _, x := range b {
			broad = append(broad, n+": "+x)
		}
		for _, x := range s {
			scoped = append(scoped, n+": "+x)
		}
	}
	switch {
	case len(broad) > 0:
		return Outcome{Verdict: Fail, Reason: fmt.Sprintf("the device's policies allow wildcards beyond its own thing (%d, first %s)", len(broad), broad[0]), Observed: broad}
	case len(scoped) > 0:
		return Outcome{Verdict: Warn, Reason: fmt.Sprintf("the device's policies use wildcards only below its own thing (%d, first %s)", len(scoped), scoped[0]), Observed: scoped}
	}
	return decided(Pass, "the policies attached to the device's certificate (%s) have no wildcard", strings.Join(names, ", "))
}

// wildcards lists an IoT policy's Allow statements' wildcards: broad ones
// and ones under a part pinned to the thing.
func wildcards(doc, thing string) (broad, scoped []string, err error) {
	var d struct {
		Statement []struct {
			Effect   string
			Action   any
			Resource any
		}
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return nil, nil, err
	}
	for _, st := range d.Statement {
		if st.Effect != "Allow" {
			continue
		}
		for _, a := range strings1(st.Action) {
			if strings.ContainsAny(a, "*?") {
				broad = append(broad, "action "+a)
			}
		}
		for _, r := range strings1(st.Resource) {
			name := r
			if i := strings.Index(r, ":client/"); i >= 0 {
				name = r[i+len(":client/"):]
			} else if i := strings.Index(r, ":topic/"); i >= 0 {
				name = r[i+len(":topic/"):]
			} else if i := strings.Index(r, ":topicfilter/"); i >= 0 {
				name = r[i+len(":topicfilter/"):]
			} else if i := strings.Index(r, ":thing/"); i >= 0 {
				name = r[i+len(":thing/"):]
			}
			switch {
			case !strings.ContainsAny(name, "*?"):
			case pinned(name, thing):
				scoped = append(scoped, "resource "+r)
			default:
				broad = append(broad, "resource "+r)
			}
		}
	}
	return broad, scoped, nil
}

// pinned: the resource names the thing or its client id (a policy
// variable or the name itself), so its wildcards stay within the thing.
func pinned(name, thing string) bool {
	return strings.Contains(name, "${iot:") || (thing != "" && strings.Contains(name, thing))
}

// strings1 reads a policy's string-or-array field.
func strings1(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
