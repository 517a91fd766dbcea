#!/usr/bin/env bash
# The AWS IoT tutorial's provisioning flow, run with the AWS CLI against
# iotwatch serve: thing, keys and certificate, policy, attachments, then
# mosquitto_pub with the new certificate (allowed and denied as its policy
# says), the shadow over HTTPS, and the clean-up with AWS's errors.
# Needs API (host:port of the HTTPS API), MQTT_PORT, LAB (the PKI
# directory) and POLICY (docs/policies/device-policy.json, the AWS template);
# AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE and AWS_PROFILE point at
# certs init's files.
set -euo pipefail
: "${API:?}" "${MQTT_PORT:?}" "${LAB:?}" "${POLICY:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
aws_() { "${AWS:-aws}" --endpoint-url "https://$API" --ca-bundle "$LAB/ca.pem" --output text "$@"; }
fail() { echo "awscli flow: $*" >&2; exit 1; }
# expect_error TYPE COMMAND...: the command fails with that AWS error type.
expect_error() {
  local want=$1 err; shift
  if err=$("$@" 2>&1 >/dev/null); then fail "$* succeeded; want $want"; fi
  [[ $err == *"($want)"* ]] || fail "$*: got '$err'; want $want"
}

aws_ iot create-thing --thing-name lamp --attribute-payload '{"attributes":{"room":"hall"}}' >/dev/null
[ "$(aws_ iot describe-thing --thing-name lamp --query attributes.room)" = hall ] || fail "describe-thing"
[ "$(aws_ iot list-things --query 'things[].thingName')" = lamp ] || fail "list-things"
expect_error ResourceNotFoundException aws_ iot describe-thing --thing-name nope

cert_arn=$(aws_ iot create-keys-and-certificate --set-as-active --query certificateArn \
  --certificate-pem-outfile "$work/lamp.pem" --public-key-outfile "$work/lamp.pub" --private-key-outfile "$work/lamp.key")
cert_id=${cert_arn##*/}
[ "$(aws_ iot describe-certificate --certificate-id "$cert_id" --query certificateDescription.status)" = ACTIVE ] || fail "describe-certificate"

echo '{"Version":"2012-10-17","Statement":[{"Effect":"Allow"}]}' >"$work/bad.json"
expect_error MalformedPolicyException aws_ iot create-policy --policy-name Bad --policy-document "file://$work/bad.json"
# The template users paste into AWS, with this account's region and id.
sed -e "s/REGION/$("${AWS:-aws}" configure get region)/g" -e "s/ACCOUNT/123456789012/g" "$POLICY" >"$work/policy.json"
aws_ iot create-policy --policy-name LampPolicy --policy-document "file://$work/policy.json" >/dev/null
[ "$(aws_ iot get-policy --policy-name LampPolicy --query defaultVersionId)" = 1 ] || fail "get-policy"
aws_ iot attach-policy --policy-name LampPolicy --target "$cert_arn"
aws_ iot attach-thing-principal --thing-name lamp --principal "$cert_arn"
[ "$(aws_ iot list-attached-policies --target "$cert_arn" --query 'policies[].policyName')" = LampPolicy ] || fail "list-attached-policies"
[ "$(aws_ iot list-thing-principals --thing-name lamp --query 'principals[0]')" = "$cert_arn" ] || fail "list-thing-principals"

host=$(aws_ iot describe-endpoint --endpoint-type iot:Data-ATS --query endpointAddress)
pub() { mosquitto_pub -h "$host" -p "$MQTT_PORT" --cafile "$LAB/ca.pem" --cert "$work/lamp.pem" --key "$work/lamp.key" -q 1 "$@"; }
aws_ iot-data update-thing-shadow --thing-name lamp --cli-binary-format raw-in-base64-out \
  --payload '{"state":{"desired":{"on":false}}}' "$work/update.json" >/dev/null
pub -i lamp -t '$aws/things/lamp/shadow/update' -m '{"state":{"reported":{"on":false}}}' ||
  fail "mosquitto_pub as lamp to its shadow was refused"
if pub -i intruder -t '$aws/things/intruder/shadow/update' -m '{}' 2>/dev/null; then fail "mosquitto_pub connected as intruder"; fi
if pub -i lamp -t lab/lamp/status -m x 2>/dev/null; then fail "mosquitto_pub published to lab/lamp/status"; fi
if pub -i lamp -t '$aws/things/fan/shadow/update' -m '{}' 2>/dev/null; then fail "mosquitto_pub published to another thing's shadow"; fi
aws_ iot-data get-thing-shadow --thing-name lamp "$work/get.json" >/dev/null
grep -q '"desired":{"on":false},"reported":{"on":false}' "$work/get.json" || fail "get-thing-shadow: $(cat "$work/get.json")"
grep -q '"version":2' "$work/get.json" || fail "get-thing-shadow version: $(cat "$work/get.json")"
aws_ iot-data update-thing-shadow --thing-name lamp --shadow-name ota --cli-binary-format raw-in-base64-out \
  --payload '{"state":{"reported":{"fw":"1.0"}}}' "$work/update.json" >/dev/null
[ "$(aws_ iot-data list-named-shadows-for-thing --thing-name lamp --query 'results[0]')" = ota ] || fail "list-named-shadows-for-thing"
aws_ iot-data publish --topic lab/lamp/status --cli-binary-format raw-in-base64-out --payload '{"on":true}' --qos 1 --retain
[ "$(aws_ iot-data get-retained-message --topic lab/lamp/status --query payload | base64 -d)" = '{"on":true}' ] || fail "get-retained-message"
[ "$(aws_ iot-data list-retained-messages --query 'retainedTopics[].topic')" = lab/lamp/status ] || fail "list-retained-messages"
aws_ iot-data delete-thing-shadow --thing-name lamp "$work/delete.json" >/dev/null
expect_error ResourceNotFoundException aws_ iot-data get-thing-shadow --thing-name lamp "$work/get.json"
AWS_SECRET_ACCESS_KEY=wrong AWS_ACCESS_KEY_ID=$("${AWS:-aws}" configure get aws_access_key_id) \
  expect_error InvalidSignatureException aws_ iot list-things

expect_error DeleteConflictException aws_ iot delete-policy --policy-name LampPolicy
expect_error CertificateStateException aws_ iot delete-certificate --certificate-id "$cert_id"
aws_ iot update-certificate --certificate-id "$cert_id" --new-status INACTIVE
if pub -i lamp -t '$aws/things/lamp/shadow/get' -m '' 2>/dev/null; then fail "an INACTIVE certificate connected"; fi
aws_ iot detach-thing-principal --thing-name lamp --principal "$cert_arn"
aws_ iot detach-policy --policy-name LampPolicy --target "$cert_arn"
aws_ iot delete-certificate --certificate-id "$cert_id"
aws_ iot delete-policy --policy-name LampPolicy
aws_ iot delete-thing --thing-name lamp
[ -z "$(aws_ iot list-things --query 'things[].thingName')" ] || fail "list-things after delete-thing"
echo "awscli flow: ok"
