# Shared by scripts/test, scripts/demo and scripts/bench: the Python venv, free ports, and the
# local services (moto's Secrets Manager, the Graph simulator), each stopped when the script exits.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOG_DIR="$ROOT/target/local-logs"
mkdir -p "$LOG_DIR"
PIDS=()

# The venv holds moto, cargo-lambda, cfn-lint and sam; it is (re)installed when requirements change.
ensure_venv() {
  if [ ! -x "$ROOT/.venv/bin/python" ]; then
    python3 -m venv "$ROOT/.venv" || {
      echo "python3 -m venv failed; on Debian: apt-get install python3-venv" >&2
      exit 1
    }
  fi
  local want have
  want=$(sha256sum "$ROOT/requirements-dev.txt" | cut -d' ' -f1)
  have=$(cat "$ROOT/.venv/.requirements.sha256" 2>/dev/null || true)
  if [ "$want" != "$have" ]; then
    echo "==> installing Python tools into .venv (moto, cargo-lambda, cfn-lint, aws-sam-cli)"
    "$ROOT/.venv/bin/python" -m pip install -q --upgrade pip
    "$ROOT/.venv/bin/python" -m pip install -q -r "$ROOT/requirements-dev.txt"
    echo "$want" >"$ROOT/.venv/.requirements.sha256"
  fi
  # cargo-lambda finds zig through python3, so the venv comes first.
  export PATH="$ROOT/.venv/bin:$PATH"
}

# Static test credentials and a region: nothing may reach AWS or the instance metadata address.
use_test_aws_env() {
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_port() {
  local port=$1 name=$2
  for _ in $(seq 1 600); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "$name did not start listening on 127.0.0.1:$port (see $LOG_DIR)" >&2
  return 1
}

stop_services() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}

# Starts moto's Secrets Manager on loopback and exports MOTO_ENDPOINT and the SDK's endpoint variable.
start_moto() {
  local port
  port=$(free_port)
  "$ROOT/.venv/bin/python" "$ROOT/tools/moto_server.py" "$port" "$$" >"$LOG_DIR/moto.log" 2>&1 &
  PIDS+=($!)
  wait_for_port "$port" moto
  export MOTO_ENDPOINT="http://127.0.0.1:$port"
  export AWS_ENDPOINT_URL_SECRETS_MANAGER="$MOTO_ENDPOINT"
}

# Starts the Graph + Entra simulator and exports SIM_URL.
start_graph_sim() {
  local port
  port=$(free_port)
  cargo build -q -p graph-sim --bin graph-sim
  "$ROOT/target/debug/graph-sim" --port "$port" >"$LOG_DIR/graph-sim.log" 2>&1 &
  PIDS+=($!)
  wait_for_port "$port" graph-sim
  export SIM_URL="http://127.0.0.1:$port"
}
