# Shared by scripts/start and scripts/test: installs what is missing, builds the site.
# Sourced, not run. Every step skips itself when its result is already there.

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
# sass and wasm-opt live in a project-local npm prefix.
export PATH="$ROOT/.tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"

step() { printf '\n==> %s\n' "$*"; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

APT_UPDATED=
apt_install() {
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# The wasm target, the wasm-bindgen CLI at exactly the version Cargo.lock pins, sass, and
# npm's binaryen (Debian's wasm-opt 108 produces wasm that breaks hydration in Chromium).
ensure_build_tools() {
  command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup first" >&2; exit 1; }
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "Adding the wasm32 target"
    rustup target add wasm32-unknown-unknown
  fi
  local wbg
  wbg=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wbg" ]; then
    step "Installing wasm-bindgen-cli $wbg (about 2 minutes)"
    cargo install --quiet wasm-bindgen-cli --version "$wbg"
  fi
  if ! [ -x .tools/node_modules/.bin/sass ] || ! [ -x .tools/node_modules/.bin/wasm-opt ]; then
    command -v npm >/dev/null || apt_install nodejs npm
    step "Installing sass and wasm-opt from npm"
    npm install --silent --no-save --no-audit --no-fund --prefix .tools sass@1.108.2 binaryen@132.0.0
  fi
}

# Chromium from Debian and playwright-core from npm (never Playwright's own browser download).
ensure_browser() {
  command -v chromium >/dev/null || { step "Installing Chromium"; apt_install chromium; }
  if ! [ -d end2end/node_modules/playwright-core ]; then
    step "Installing the browser test dependencies"
    (cd end2end && npm ci --silent --no-audit --no-fund)
  fi
}

# Debian's Prometheus: the peer of the remote_write test and the ingest benchmark. Its package
# would start a service where systemd runs; tests start their own on free ports.
ensure_prometheus() {
  [ -x /usr/bin/prometheus ] || { step "Installing Prometheus"; apt_install prometheus; }
}

# Alertmanager 0.25 and amtool: the notification tests' oracle and client.
ensure_alertmanager() {
  [ -x /usr/bin/prometheus-alertmanager ] && [ -x /usr/bin/amtool ] \
    || { step "Installing Alertmanager"; apt_install prometheus-alertmanager; }
}

# aiosmtpd: the SMTP server the e-mail notification tests deliver to. Debian's package is for
# Debian's python3, which the tests run by its path.
ensure_smtp_server() {
  /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null \
    || { step "Installing aiosmtpd"; apt_install python3-aiosmtpd; }
}

pg_answers() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

# The tests need PostgreSQL on 127.0.0.1:5432 with trust authentication for `postgres`.
ensure_postgres() {
  pg_answers && return 0
  step "Starting PostgreSQL"
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    apt_install postgresql
    local conf
    conf=$(ls -d /etc/postgresql/*/main | sort -V | tail -1)
    # A cluster that was just created for the tests: local connections are trusted.
    sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$conf/pg_hba.conf"
  fi
  local version
  version=$(ls /etc/postgresql | sort -V | tail -1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 30); do pg_answers && return 0; sleep 1; done
  echo "PostgreSQL does not answer on 127.0.0.1:5432" >&2
  exit 1
}

# The browser bundle: wasm (optimised for size), its JS glue, the stylesheet, public files. The
# three files are named by a hash of their contents (the server reads the name from
# pkg/output-name and lets browsers cache them for good) and compressed here, once, as .br and
# .gz beside them, so the server never compresses them per request.
build_site() {
  step "Building the browser bundle"
  cargo build --quiet -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release
  local pkg=target/site/pkg
  rm -rf target/site && mkdir -p "$pkg"
  wasm-bindgen --target web --no-typescript --out-dir "$pkg" --out-name meridian \
    target/wasm32-unknown-unknown/wasm-release/frontend.wasm
  mv "$pkg/meridian_bg.wasm" "$pkg/meridian.wasm"
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int "$pkg/meridian.wasm" -o "$pkg/meridian.wasm"
  sass --no-source-map --style=compressed style/main.scss "$pkg/meridian.css"
  local name
  name="meridian-$(cat "$pkg/meridian.wasm" "$pkg/meridian.js" "$pkg/meridian.css" | sha256sum | cut -c1-16)"
  for ext in js wasm css; do mv "$pkg/meridian.$ext" "$pkg/$name.$ext"; done
  printf '%s\n' "$name" > "$pkg/output-name"
  node -e '
    const zlib = require("zlib"), fs = require("fs");
    for (const file of process.argv.slice(1)) {
      const raw = fs.readFileSync(file);
      fs.writeFileSync(file + ".br", zlib.brotliCompressSync(raw, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }));
      fs.writeFileSync(file + ".gz", zlib.gzipSync(raw, { level: 9 }));
      console.log(`${file}: ${raw.length} bytes, ${fs.statSync(file + ".br").size} brotli, ${fs.statSync(file + ".gz").size} gzip`);
    }' "$pkg/$name.wasm" "$pkg/$name.js" "$pkg/$name.css"
  cp -r public/. target/site/
}

build_server() {
  step "Building the server"
  cargo build --quiet --release -p server
}
