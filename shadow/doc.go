// Package shadow holds the AWS IoT Device Shadow semantics, exactly as
// PROTOCOL.md describes them: request validation and its error codes, the
// merge of desired and reported, delta, per-leaf metadata, versions and the
// answer documents. It is pure: it imports only the standard library, keeps
// no state between calls and takes the time as an argument.
package shadow
