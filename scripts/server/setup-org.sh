#!/usr/bin/env bash
# Fills a running `bulwark serve` with the organization the load and durability checks use:
# root → engineering → dev (0a1b2c), alice in group readers holding read-images, plus an SCP.
# Usage: setup-org.sh URL TOKEN
set -euo pipefail
url="$1"; token="$2"
call() {
  local method="$1" path="$2" body="$3" status
  status=$(curl -s -o /dev/null -w '%{http_code}' -X "$method" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$url$path" -d "$body")
  [[ "$status" == 20* ]] || { echo "setup: $method $path answered $status" >&2; exit 1; }
}
call PUT /v1/organization '{"id":"o-1","rootId":"r-1"}'
call POST /v1/organization/nodes '{"kind":"ou","name":"engineering","id":"ou-eng"}'
call POST /v1/organization/nodes '{"kind":"account","name":"dev","id":"0a1b2c","parent":"engineering"}'
call POST /v1/policies '{"id":"read-images","account":"0a1b2c","document":{"Version":"5.0","Statement":[{"Sid":"Read","Effect":"Allow","Action":["ims:images:get"],"Resource":["ims:*:0a1b2c:image:*"]},{"Effect":"Allow","Action":["ims:images:list"],"Resource":["*"]},{"Effect":"Allow","Action":["swr:repo:*"],"Resource":["swr:*:0a1b2c:repo:team-a/*"],"Condition":{"IpAddress":{"g:SourceIp":["10.0.0.0/8"]}}}]}}'
call POST /v1/scps '{"id":"deny-share","document":{"Version":"5.0","Statement":[{"Effect":"Deny","Action":["ims:images:share"],"Condition":{"StringNotMatch":{"ims:TargetOrgPaths":["o-1/r-1/*"]}}}]}}'
call POST /v1/attachments '{"policy":"deny-share","target":"engineering"}'
call POST /v1/principals '{"kind":"group","account":"0a1b2c","name":"readers"}'
call POST /v1/principals '{"kind":"user","account":"0a1b2c","name":"alice","groups":["readers"]}'
call POST /v1/attachments '{"policy":"read-images","target":"iam::0a1b2c:group:readers"}'
