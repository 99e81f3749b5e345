#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# quickstart.sh: the whole path on one machine: a CA and certificates, the fake AWS, awsgated pointed at it, and `awsgate aws` through it, saying what happens at each hop.
#
# Usage: tests/quickstart.sh [--dir DIR] [--keep] [--real-aws ROLE_ARN [--external-id ID] [--region R]]
#
# By default nothing leaves the machine: the AWS the gate talks to is the
# project's fake (tests/fakeaws/), on loopback, and every file is made in a
# private directory (mktemp, 0700) that is removed at the end unless --keep.
# --real-aws ROLE_ARN uses real AWS instead: the gate assumes ROLE_ARN with
# the AWS credentials of this shell (the role must trust them; the script
# prints the trust policy), and `awsgate aws` calls reach AWS.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
bin=${AWSGATE_BIN:-$top}
dir=
keep=0
real_role=
external_id=awsgate-quickstart
region=us-east-1
while [ $# -gt 0 ]; do
	case $1 in
	--dir) dir=$2; keep=1; shift 2 ;;
	--keep) keep=1; shift ;;
	--real-aws) real_role=$2; shift 2 ;;
	--external-id) external_id=$2; shift 2 ;;
	--region) region=$2; shift 2 ;;
	-h|--help) sed -n '4,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "quickstart: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
done

for p in awsgatectl awsgated awsgate; do
	if [ ! -x "$bin/$p" ]; then
		echo "quickstart: $bin/$p is not built: run ./bootstrap (or make) first, or set AWSGATE_BIN to the build directory" >&2
		exit 2
	fi
done
py=/usr/bin/python3
awscli=${AWSGATE_AWS_CLI:-/usr/bin/aws}
[ -x "$awscli" ] || { echo "quickstart: no AWS CLI at $awscli (apt-get install awscli, or set AWSGATE_AWS_CLI)" >&2; exit 2; }
if [ -z "$real_role" ]; then
	"$py" -c 'import botocore' 2>/dev/null ||
		{ echo "quickstart: the fake AWS needs $py with botocore (apt-get install python3-botocore)" >&2; exit 2; }
fi

if [ -z "$dir" ]; then
	dir=$(mktemp -d "${TMPDIR:-/tmp}/awsgate-quickstart.XXXXXX")
else
	mkdir -p "$dir"
fi
chmod 700 "$dir"
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || :; done
	wait 2>/dev/null || :
	if [ "$keep" = 0 ]; then rm -rf "$dir"; else echo "quickstart: files kept in $dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n==> %s\n' "$*"; }
run() { printf '    $ %s\n' "$*"; "$@"; }
free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

account=123456789012
role=${real_role:-arn:aws:iam::$account:role/QuickstartDev}
account=$(echo "$role" | cut -d: -f5)

step "1. A certificate authority, the gate's server certificate and alice's client certificate (8 hours)"
run "$bin/awsgatectl" ca init --dir "$dir/ca" >/dev/null
run "$bin/awsgatectl" certs server --dir "$dir/ca" --dns localhost --ip 127.0.0.1 --ttl 24h --out "$dir/gate" >/dev/null
run "$bin/awsgatectl" certs user --dir "$dir/ca" --user alice --roles aws-dev --ttl 8h --out "$dir/alice" >/dev/null
echo "    alice holds $dir/alice.crt and .key: no AWS keys anywhere on her side."

step "2. RBAC: role aws-dev may use $role in app 'dev' (account $account)"
mkdir "$dir/res"
cat >"$dir/res/aws-dev.json" <<EOF
{"kind": "role", "version": "v7", "metadata": {"name": "aws-dev"},
 "spec": {"allow": {"app_labels": {"env": "dev"}, "aws_role_arns": ["$role"]}}}
EOF
cat >"$dir/res/dev.json" <<EOF
{"kind": "app", "version": "v3",
 "metadata": {"name": "dev", "labels": {"env": "dev", "aws_account_id": "$account"}},
 "spec": {"uri": "https://console.aws.amazon.com/", "aws": {"external_id": "$external_id"}}}
EOF
sed 's/^/    /' "$dir/res/aws-dev.json"

gate_port=$(free_port)
metrics_port=$(free_port)
aws_conf=
if [ -z "$real_role" ]; then
	step "3. The fake AWS (tests/fakeaws/): STS trusting the gate's key for $role, and S3 with one bucket"
	gate_key=AKIAQUICKSTARTGATE01
	gate_secret=quickstartGateSecret/00000000000000000000
	cat >"$dir/fake.json" <<EOF
{"users": [{"name": "gate", "account": "111111111111",
            "access_key_id": "$gate_key", "secret_access_key": "$gate_secret"}],
 "roles": [{"arn": "$role", "max_session_duration": 7200,
            "trust": {"principals": ["arn:aws:iam::111111111111:user/gate"],
                      "external_id": "$external_id", "set_source_identity": true}}],
 "buckets": ["quickstart-bucket"]}
EOF
	mkfifo "$dir/fake.ready"
	"$py" "$top/tests/fakeaws/fakeaws.py" --config "$dir/fake.json" --state-dir "$dir/fake" \
		--ports-file "$dir/fake.ports" --ready "$dir/fake.ready" --lifetime 900 >/dev/null 2>"$dir/fake.err" &
	pids="$pids $!"
	timeout 30 sh -c 'read x < "$1"' sh "$dir/fake.ready" ||
		{ echo "quickstart: the fake AWS did not start:" >&2; cat "$dir/fake.err" >&2; exit 1; }
	fake_port=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["https"])' "$dir/fake.ports")
	echo "    listening on 127.0.0.1:$fake_port for every *.amazonaws.com name, with its own test CA"
	aws_conf=", \"aws\": {\"region\": \"$region\", \"ca_file\": \"$dir/fake/ca.crt\",
  \"connect_to\": [{\"host\": \"*.amazonaws.com\", \"address\": \"127.0.0.1:$fake_port\"},
                 {\"host\": \"*.aws.amazon.com\", \"address\": \"127.0.0.1:$fake_port\"}]}"
	# The gate's own AWS identity, as the fake knows it.
	export AWS_ACCESS_KEY_ID=$gate_key AWS_SECRET_ACCESS_KEY=$gate_secret AWS_EC2_METADATA_DISABLED=true
	unset AWS_SESSION_TOKEN AWS_PROFILE 2>/dev/null || :
else
	step "3. Real AWS: the gate uses this shell's AWS credentials to assume $role"
	"$bin/awsgatectl" aws whoami || { echo "quickstart: the gate would have no AWS credentials (see above)" >&2; exit 1; }
	echo "    $role must trust them, with external ID $external_id:"
	"$bin/awsgatectl" aws iam-policy --role-arn "$role" --external-id "$external_id" | sed 's/^/    /'
	aws_conf=", \"aws\": {\"region\": \"$region\"}"
fi

step "4. awsgated on 127.0.0.1:$gate_port"
cat >"$dir/gate.json" <<EOF
{"listen": ["127.0.0.1:$gate_port"],
 "tls": {"cert_file": "$dir/gate.crt", "key_file": "$dir/gate.key",
         "client_ca_files": ["$dir/ca/ca.crt"], "identity_ca_file": "$dir/ca/ca.crt"},
 "resources_dir": "$dir/res", "data_dir": "$dir", "audit": {"file": "$dir/audit.log"},
 "log": {"file": "$dir/gate.log"}, "metrics": {"listen": "127.0.0.1:$metrics_port"}$aws_conf}
EOF
run "$bin/awsgatectl" config check "$dir/gate.json" >/dev/null
"$bin/awsgated" --config "$dir/gate.json" >>"$dir/gate.log" 2>&1 &
pids="$pids $!"
i=0
until curl -sf --cacert "$dir/ca/ca.crt" "https://127.0.0.1:$gate_port/readyz" >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "quickstart: awsgated did not become ready:" >&2; cat "$dir/gate.log" >&2; exit 1; }
	sleep 0.1
done
echo "    ready; audit log $dir/audit.log"
# From here on, alice's side: her own HOME, no AWS keys in her environment.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
export HOME="$dir/alice-home" AWSGATE_AWS_CLI="$awscli"
mkdir -m 700 "$HOME"

step "5. alice logs in: the profile in ~/.awsgate/ keeps her certificate and throw-away local AWS keys"
run "$bin/awsgate" login --gate "127.0.0.1:$gate_port" --cert "$dir/alice.crt" --key "$dir/alice.key" --ca "$dir/ca/ca.crt"
run "$bin/awsgate" apps ls

step "6. The AWS CLI through the gate: awsgate aws -> local proxy (127.0.0.1, CONNECT, local CA, checks the CLI's signature) -> HTTP/2 mTLS -> awsgated (RBAC, AssumeRole, re-sign) -> AWS"
run "$bin/awsgate" aws sts get-caller-identity
run "$bin/awsgate" aws s3 ls

if [ -z "$real_role" ]; then
	# The console sign-in lands on the fake's page for signin.aws.amazon.com.
	landing() {
		curl -s --cacert "$dir/fake/ca.crt" --connect-to "signin.aws.amazon.com:443:127.0.0.1:$fake_port" "$1" |
			sed -n 's/.*<td id="arn">\([^<]*\)<.*/    landed in the AWS console as \1/p'
	}
	step "8. The console: awsgate console -> awsgated (AssumeRole, getSigninToken) -> a sign-in URL for signin.aws.amazon.com"
	printf '    $ %s\n' "$bin/awsgate console --print"
	url=$("$bin/awsgate" console --print)
	echo "    ${url%%SigninToken=*}SigninToken=... (a bearer token for 15 minutes)"
	landing "$url"

	step "9. The web UI: awsgate web -> one-time link -> session cookie -> Launch -> 302 to the console sign-in"
	printf '    $ %s\n' "$bin/awsgate web --print"
	link=$("$bin/awsgate" web --print)
	echo "    ${link%%t=*}t=... (works once, for 60 s; a browser opens it with: $bin/awsgate web)"
	origin=${link%%/awsgate/*}
	web() { curl -s --cacert "$dir/ca/ca.crt" -b "$dir/jar" -c "$dir/jar" -H 'Sec-Fetch-Site: same-origin' "$@"; }
	web -o /dev/null -d "t=${link#*t=}" "$origin/awsgate/web/link"
	csrf=$(web "$origin/awsgate/web/" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n 1)
	echo "    signed in: the apps page lists app dev with role QuickstartDev; Launch posts it"
	console=$(web -o /dev/null -w '%{redirect_url}' -d "csrf=$csrf&app=dev&role=QuickstartDev" "$origin/awsgate/web/launch")
	echo "    302 to ${console%%SigninToken=*}SigninToken=..."
	landing "$console"
else
	step "8. The console: $bin/awsgate console (opens your browser), or $bin/awsgate web for the gate's web UI"
fi

step "10. What the gate audited ($dir/audit.log)"
"$py" - "$dir/audit.log" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    ev = e.get('event')
    if ev == 'sts.assume_role':
        print('    %-16s %s as session %s: %s, until %s' % (ev, e.get('role_arn'), e.get('session_name'),
                                                         e.get('outcome'), e.get('expires', '-')))
    elif ev == 'api.request':
        print('    %-16s %s: %s %s %s %s -> %s' % (ev, e.get('user'), e.get('service'), e.get('action') or '',
                                                e.get('method'), e.get('host'), e.get('status')))
    elif ev == 'request.denied':
        print('    %-16s %s -> %s %s' % (ev, e.get('user'), e.get('status'), e.get('reason') or ''))
    elif ev in ('console.url', 'web.launch'):
        print('    %-16s %s as %s, console session %s s' % (ev, e.get('user'), e.get('role_arn'),
                                                         e.get('session_duration') or e.get('duration')))
    elif ev:
        print('    %-16s %s' % (ev, e.get('user') or ''))
EOF

cat <<EOF

Done. To go on by hand (with --keep the files stay in $dir):
    export HOME=$HOME
    $bin/awsgate status
    $bin/awsgate aws s3 cp README s3://quickstart-bucket/README
    eval "\$($bin/awsgate proxy aws --format env)"   # then boto3, terraform, ... in this shell
    $bin/awsgate web                                   # the gate's web UI in your browser
docs/GETTING-STARTED.md walks through the same steps for a real deployment.
EOF
