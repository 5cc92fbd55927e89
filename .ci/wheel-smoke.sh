#!/usr/bin/env bash
# The app as a package: build the wheel, install it (not editable) into a fresh virtual
# environment outside the checkout, migrate a new database and answer real requests from
# there: every template, static file, translation, migration and text must have come along.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WORK=$(mktemp -d /tmp/wheel-smoke.XXXXXX)
SERVER=""
finish() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap finish EXIT

"$ROOT/.venv/bin/pip" wheel . --no-deps --quiet --wheel-dir "$WORK/dist"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet --upgrade pip
"$WORK/venv/bin/pip" install --quiet "$WORK"/dist/*.whl
cd "$WORK"  # nothing of the checkout is on the path from here
export INSTANCE_PATH="$WORK/instance"
"$WORK/venv/bin/flask" --app portal db upgrade
"$WORK/venv/bin/python" - <<'PY'
import portal
from portal.settings import INSTALLED, RESOURCES

assert INSTALLED and "site-packages" in str(RESOURCES), RESOURCES
app = portal.create_app()
client = app.test_client()
home = client.get("/")
assert home.status_code == 200 and b"/static/css/portal.css" in home.data, home.status_code
assert client.get("/static/css/portal.css").status_code == 200
assert client.get("/static/js/portal.js").status_code == 200
spanish = client.get("/sign-in", headers={"Accept-Language": "es"})
assert spanish.status_code == 200 and 'lang="es"' in spanish.get_data(as_text=True)
assert "Iniciar sesión" in spanish.get_data(as_text=True), "no Spanish catalog"
with app.app_context():
    from portal.domain import esign
    assert esign.TEXTS.joinpath("roi.es.md").is_file()
print("in-process smoke: ok")
PY
PORT=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
"$WORK/venv/bin/gunicorn" --bind "127.0.0.1:$PORT" --workers 1 "portal:create_app()" \
  > "$WORK/gunicorn.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 50); do
  if curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then break; fi
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$PORT/health" | grep -q '"status":"ok"'
curl -fsS "http://127.0.0.1:$PORT/sign-in" | grep -q "csrf_token"
echo "gunicorn from the installed wheel: ok"
