#!/bin/bash
# Boot script (EC2 user data) of one ephemeral GitHub Actions runner in a condainfra runner pool.
#
# It registers the instance as an --ephemeral runner (GitHub gives it exactly one job), runs that
# job as an unprivileged user, and powers off; the launch template makes power-off terminate the
# instance, and the autoscaling group starts a fresh one. No state survives from one job to the next.
#
# condainfra compiles this file into each pool's launch template: it replaces the values of the
# settings block below with the pool's, each one shell-quoted. Edit the script here, not in AWS.
set -euo pipefail

# --- settings: condainfra writes the pool's values here ---
RUNNER_ORG=''
RUNNER_GROUP=''
RUNNER_LABELS=''
RUNNER_VERSION=''
RUNNER_SHA256=''
REGISTRATION_KIND=''
REGISTRATION_SECRET_ARN=''
AWS_REGION_NAME=''
# --- end of settings ---

RUNNER_USER=runner
RUNNER_HOME=/home/runner
IMDS=169.254.169.254
API=https://api.github.com

log() { printf 'condainfra-runner: %s\n' "$*" | tee /dev/console >&2 || true; }

# Whatever happens (the job ends, or a step here fails), the instance goes away: a runner that
# failed to register must not sit there billing, and a used one must never take a second job.
finish() {
  log "done (exit $?); powering off"
  shutdown -h now
}
trap finish EXIT

install_packages() {
  if command -v dnf >/dev/null; then
    dnf install -y -q jq openssl tar gzip libicu iptables-nft awscli-2 || dnf install -y -q jq openssl tar gzip libicu iptables-nft
  else
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq jq openssl curl tar iptables awscli
  fi
}

# IMDSv2 (the launch template requires tokens) for this instance's id and architecture.
instance_id() {
  local token
  token=$(curl -fsS -X PUT "http://$IMDS/latest/api/token" -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')
  curl -fsS -H "X-aws-ec2-metadata-token: $token" "http://$IMDS/latest/meta-data/instance-id"
}

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# A POST to the GitHub API with a bearer token passed through a pipe, never on a command line
# (other processes can read command lines).
github_post() {
  local bearer=$1 path=$2
  curl -fsS --retry 5 --retry-connrefused -X POST \
    -H 'Accept: application/vnd.github+json' -H 'X-GitHub-Api-Version: 2022-11-28' \
    -H @<(printf 'Authorization: Bearer %s\n' "$bearer") \
    "$API/$path"
}

# The app's short-lived JWT, signed with its private key (RS256), valid for nine minutes.
app_jwt() {
  local app_id=$1 key_file=$2 now header payload signature
  now=$(date +%s)
  header=$(printf '{"alg":"RS256","typ":"JWT"}' | b64url)
  payload=$(printf '{"iat":%d,"exp":%d,"iss":"%s"}' "$((now - 60))" "$((now + 540))" "$app_id" | b64url)
  signature=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -sign "$key_file" -binary | b64url)
  printf '%s.%s.%s' "$header" "$payload" "$signature"
}

# A one-hour registration token for the org, from the secret named by ARN. The secret's value
# lives only in this function's variables and in a root-only temporary file removed at once.
registration_token() {
  local secret api_token app_id installation_id key_file
  secret=$(aws secretsmanager get-secret-value --region "$AWS_REGION_NAME" --secret-id "$REGISTRATION_SECRET_ARN" --query SecretString --output text)
  case "$REGISTRATION_KIND" in
    github-app)
      app_id=$(jq -er '.app_id | tostring' <<<"$secret")
      installation_id=$(jq -er '.installation_id | tostring' <<<"$secret")
      [[ $app_id =~ ^[0-9]+$ && $installation_id =~ ^[0-9]+$ ]] || { log "secret: app_id and installation_id must be numbers"; return 1; }
      key_file=$(mktemp)
      jq -er '.private_key' <<<"$secret" >"$key_file"
      api_token=$(github_post "$(app_jwt "$app_id" "$key_file")" "app/installations/$installation_id/access_tokens" | jq -er '.token')
      rm -f "$key_file"
      ;;
    token)
      api_token=$(jq -er '.token' <<<"$secret")
      ;;
    *)
      log "unknown registration kind"
      return 1
      ;;
  esac
  github_post "$api_token" "orgs/$RUNNER_ORG/actions/runners/registration-token" | jq -er '.token'
}

install_runner() {
  local archive="actions-runner-linux-x64-$RUNNER_VERSION.tar.gz"
  id -u "$RUNNER_USER" >/dev/null 2>&1 || useradd --create-home --home-dir "$RUNNER_HOME" --shell /bin/bash "$RUNNER_USER"
  mkdir -p "$RUNNER_HOME/actions-runner"
  curl -fsSL --retry 5 -o "/tmp/$archive" "https://github.com/actions/runner/releases/download/v$RUNNER_VERSION/$archive"
  if [[ -n $RUNNER_SHA256 ]]; then
    printf '%s  %s\n' "$RUNNER_SHA256" "/tmp/$archive" | sha256sum -c - >/dev/null
  fi
  tar -xzf "/tmp/$archive" -C "$RUNNER_HOME/actions-runner"
  rm -f "/tmp/$archive"
  chown -R "$RUNNER_USER:$RUNNER_USER" "$RUNNER_HOME"
}

main() {
  umask 077
  install_packages
  install_runner
  local token name
  token=$(registration_token)
  name="$RUNNER_GROUP-$(instance_id)"
  # Jobs run as the runner user and must not reach the instance role's credentials (which can
  # read the registration secret): the metadata service is closed to that user before any job.
  iptables -A OUTPUT -d "$IMDS/32" -m owner --uid-owner "$RUNNER_USER" -j REJECT
  cd "$RUNNER_HOME/actions-runner"
  sudo -u "$RUNNER_USER" -- ./config.sh --unattended --ephemeral --disableupdate \
    --url "https://github.com/$RUNNER_ORG" --token "$token" \
    --runnergroup "$RUNNER_GROUP" --labels "$RUNNER_LABELS" --name "$name"
  unset token
  log "registered $name in group $RUNNER_GROUP with labels $RUNNER_LABELS"
  sudo -u "$RUNNER_USER" -- ./run.sh
}

main "$@"
